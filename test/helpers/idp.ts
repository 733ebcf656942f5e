// The test IdP lives in bench/ so that the benchmarks may sign responses with it too.
export * from '../../bench/fixture-idp.js'
