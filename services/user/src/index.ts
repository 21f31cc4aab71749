export { connectUserBackends, type UserBackends } from './backends.js'
export { userSettingNames, loadUserConfig, type UserConfig } from './config.js'
export { createUserService, type UserService } from './service.js'
