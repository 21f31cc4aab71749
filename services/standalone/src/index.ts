export { buildSystem, type LoggerFactory, type System, type SystemOptions } from './system.js'
export { resolveSecrets } from './dev-secrets.js'
export { standaloneSettingNames } from './config.js'
