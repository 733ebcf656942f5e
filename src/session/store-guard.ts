// Any failure of the store backend becomes one error, STORE_UNAVAILABLE (503), whatever the driver
// threw. The routes then never need to know which backend is behind them.
import { errors } from '../errors.js'
import type { GatewayStore } from './store.js'

export function guardStore (store: GatewayStore, onError?: (err: unknown) => void): GatewayStore {
  return new Proxy(store, {
    get (target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function' || property === 'close') return value
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args)
        } catch (err) {
          onError?.(err)
          const wrapped = new errors.StoreUnavailable()
          wrapped.cause = err
          throw wrapped
        }
      }
    }
  })
}
