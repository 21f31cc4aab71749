export { authSettingNames, loadAuthConfig, type AuthConfig } from './config.js'
export { createAuthService, type AuthService, type AuthTransports } from './service.js'
