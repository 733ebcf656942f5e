// neostandard (the Fastify family's style) for TypeScript; `npm run lint` allows no warning.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**']
  }),
  {
    rules: {
      // `let app: App | undefined` read by a closure (a teardown, a JWKS getter) before the one
      // assignment that follows is the point, not an oversight.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }]
    }
  }
]
