// XSD validation of SAML messages with libxml2-wasm. The schemas are compiled once per process
// (compiling them is ~100x the cost of one validation); every parsed document is freed.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ParseOption,
  XmlBufferInputProvider,
  XmlDocument,
  XsdValidator,
  xmlRegisterInputProvider
} from 'libxml2-wasm'
import { errors } from '../../errors.js'
import { parseXml, refuseDoctype, shortReason } from './xml.js'
import { prescanXml } from './xml-limits.js'

const ROOT_SCHEMA = 'saml-schema-protocol-2.0.xsd'
// No entity substitution, no DTD loading, no network: the caller has refused DOCTYPE already,
// this is the second lock on the same door.
const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE

let validator: XsdValidator | null = null

/** The nearest directory above this module that holds package.json (src/ under tap, dist/src/ once built). */
export function packageRoot (from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/**
 * Compiles the SAML 2.0 protocol schema and what it imports. Called lazily by validateSchema;
 * call it at boot to pay the cost (and find a missing schemas/ folder) before the first login.
 */
export function initSchemaValidator (schemaDir: string = path.join(packageRoot(), 'schemas')): void {
  if (validator != null) return
  const files = fs.readdirSync(schemaDir).filter((name) => name.endsWith('.xsd'))
  // Imports are served from memory, by exact path, so libxml2 never reaches a filesystem or the
  // network for anything but these files.
  const provider = new XmlBufferInputProvider(Object.fromEntries(
    files.map((name) => [path.join(schemaDir, name), fs.readFileSync(path.join(schemaDir, name))])
  ))
  xmlRegisterInputProvider(provider)
  const rootPath = path.join(schemaDir, ROOT_SCHEMA)
  const xsd = XmlDocument.fromBuffer(fs.readFileSync(rootPath), { url: rootPath })
  try {
    validator = XsdValidator.fromDoc(xsd)
  } finally {
    xsd.dispose()
  }
}

/** Throws errors.SamlSchema unless `xml` is a valid SAML 2.0 protocol (or assertion) document. */
export function validateSchema (xml: string): void {
  if (validator == null) initSchemaValidator()
  let doc: XmlDocument
  try {
    doc = XmlDocument.fromString(xml, { option: PARSE_OPTIONS })
  } catch (err) {
    throw new errors.SamlMalformed(shortReason(String((err as Error).message)))
  }
  try {
    validator!.validate(doc)
  } catch (err) {
    const details = (err as { details?: Array<{ message: string }> }).details
    throw new errors.SamlSchema(shortReason(details?.[0]?.message ?? String((err as Error).message)))
  } finally {
    doc.dispose()
  }
}

/**
 * The gate every inbound SAML message passes: no DTD, within the shape limits (a linear scan, before
 * any parser), well-formed, schema-valid. Returns the parsed document; throws SAML_DOCTYPE,
 * SAML_TOO_COMPLEX, SAML_MALFORMED or SAML_SCHEMA.
 */
export function parseInboundSaml (xml: string): Document {
  refuseDoctype(xml)
  prescanXml(xml)
  const doc = parseXml(xml)
  validateSchema(xml)
  return doc
}
