export * from './backing.js'
export * from './log-capture.js'
export * from './totp.js'
