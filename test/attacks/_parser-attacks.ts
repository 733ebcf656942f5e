// Parser work before any check: the worst documents of each shape (bench/parser-bombs.ts), as
// attacks of the catalogue. None carries a signature; each must be refused before any DOM parse.
import { parserBombs } from '../../bench/parser-bombs.js'
import { attack, type Attack } from './_attack.js'

export { manyAttributes, nested, wide } from '../../bench/parser-bombs.js'

export function parserAttacks (): Attack[] {
  return parserBombs().map((bomb) => attack({ ...bomb, family: 'parser', keepsGenuineSignature: false }))
}
