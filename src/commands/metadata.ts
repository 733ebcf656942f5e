// `saml-gateway metadata`: the SP metadata XML to give the IdP, from the configuration alone.
import { loadConfig, type LoadConfigOptions } from '../config/index.js'
import { createServiceProvider } from '../sp/write/entities.js'
import { spMetadata } from '../sp/write/metadata.js'

/** Throws ConfigError when the configuration is not usable. Motion's own variables are enough: no upstream needed. */
export function metadataXml (options: LoadConfigOptions = {}): string {
  return spMetadata({ sp: createServiceProvider(loadConfig({ ...options, upstreamOptional: true })) }) + '\n'
}
