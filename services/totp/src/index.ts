export { connectTotpBackends, type TotpBackends, type SharedBackends } from './backends.js'
export { totpSettingNames, loadTotpConfig, type TotpConfig } from './config.js'
export { createTotpService, type TotpService } from './service.js'
