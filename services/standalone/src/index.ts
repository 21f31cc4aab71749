export { buildSystem, type System } from './system.js'
export { resolveSecrets } from './dev-secrets.js'
