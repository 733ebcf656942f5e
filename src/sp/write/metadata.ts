// Our SP metadata, for the IdP: entity ID, ACS, SLO endpoints, and our certificates when configured.
import type { SamlEntities } from './entities.js'

export function spMetadata (entities: Pick<SamlEntities, 'sp'>): string {
  return entities.sp.getMetadata()
}
