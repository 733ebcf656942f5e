// The throwaway redis-server lives in bench/ so that the benchmarks may start one too.
export * from '../../bench/redis-server.js'
