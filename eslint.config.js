import neostandard from 'neostandard'

const services = ['auth', 'totp', 'user']

/**
 * Services never import one another; they share only packages/*. The
 * one-process start (services/standalone) is the single place that composes
 * them.
 */
const serviceBoundaries = services.map((service) => ({
  files: [`services/${service}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        {
          group: services.filter((s) => s !== service).map((s) => `@twofa/${s}`),
          message: 'services do not import each other'
        },
        {
          group: ['../../*/src/*', '../../../services/*'],
          message: 'services do not import each other'
        }
      ]
    }]
  }
}))

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/node_modules/**', '.data/**', 'coverage/**', '.tap/**']
  }),
  {
    rules: {
      '@stylistic/max-len': ['error', {
        code: 100,
        ignoreUrls: true,
        ignoreStrings: true,
        ignoreTemplateLiterals: true,
        ignoreRegExpLiterals: true
      }]
    }
  },
  ...serviceBoundaries
]
