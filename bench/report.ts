// The bench's figures as a dated Markdown section for BENCHMARKS.md, and the targets' verdicts.
import type { ValidationFigures } from './validation-bench.js'
import type { RepeatFigures, StormFigures } from './http-bench.js'
import type { BenchOptions, Machine } from './run.js'

export interface Target { target: string, achieved: string, met: boolean | null }

export interface BenchSummary {
  machine: Machine
  options: BenchOptions
  durationS: number
  validation?: ValidationFigures
  storms: StormFigures[]
  repeat?: RepeatFigures
  targets: Target[]
}

const x = (v: number): string => `${v.toFixed(2)}×`

export function targetsOf (v: ValidationFigures | undefined, storms: StormFigures[], repeat: RepeatFigures | undefined): Target[] {
  const targets: Target[] = []
  if (v !== undefined) {
    const vsNodeSaml = v.ratios['ours / node-saml, 1 core']
    targets.push({ target: 'secure validation, one core ≥ node-saml (stretch 2×)', achieved: `${x(vsNodeSaml)} node-saml`, met: vsNodeSaml >= 1 })
    const scaling = v.ratios['ours ValidatorPool(2) / ours 1 core']
    const cpuRatio = v.ratios['CPU per validation, ours 1 core / ValidatorPool(2)']
    targets.push({
      target: 'both cores (ValidatorPool of 2) ≥ 1.8× one core',
      achieved: `${x(scaling)} wall clock; CPU per validation, 1 core / pool of 2: ${x(cpuRatio)} (1.00×: the pool costs no extra CPU)`,
      met: scaling >= 1.8
    })
  }
  const pooled = storms.find((s) => s.store === 'sqlite' && s.workers > 0)
  if (pooled !== undefined) {
    targets.push({ target: '/health p99 < 5 ms while a login storm saturates the ACS', achieved: `${pooled.health.storm.p99} ms (SQLite)`, met: pooled.health.storm.p99 < 5 })
    targets.push({
      target: `RSS after ${pooled.logins} logins within 10% of RSS after the first ${pooled.rssMb.afterFirstChunkLogins}`,
      achieved: `${pooled.rssMb.afterFirstChunk} → ${pooled.rssMb.after} MB (${pooled.rssMb.growthPct >= 0 ? '+' : ''}${pooled.rssMb.growthPct}%)`,
      met: pooled.logins >= 10_000 ? Math.abs(pooled.rssMb.growthPct) <= 10 : null
    })
  }
  if (repeat !== undefined) {
    targets.push({ target: 'repeat login ≥ 50% of a bare Fastify route', achieved: `${(repeat.ratio * 100).toFixed(0)}%`, met: repeat.ratio >= 0.5 })
  }
  return targets
}

export function markdownReport (s: BenchSummary): string {
  const m = s.machine
  const out: string[] = []
  out.push(`## ${m.date.slice(0, 10)} — ${m.commit}`, '')
  out.push(`Machine: ${m.nproc} cores (\`nproc\`), ${m.cpu}, Node ${m.node}, load average at start ${m.loadAvg}. ` +
    `Command: \`${m.command}\`; ${s.durationS} s. Options: \`${JSON.stringify(s.options)}\`.`, '')

  if (s.targets.length > 0) {
    out.push('| target | achieved | |', '|---|---|---|')
    for (const t of s.targets) out.push(`| ${t.target} | ${t.achieved} | ${t.met === null ? 'not measured (fewer logins)' : t.met ? 'met' : '**missed**'} |`)
    out.push('')
  }

  const v = s.validation
  if (v !== undefined) {
    out.push('### Secure validation alone', '',
      `${v.responses} distinct responses (${(v.xmlBytes / 1024).toFixed(1)} KB of XML each), the same for every implementation; ` +
      `${v.rounds} interleaved rounds of ${v.batch} validations, each implementation in threads of its own; medians.`, '',
      '| pipeline | validations/s | ms of CPU per validation | runs (validations/s) |', '|---|---|---|---|')
    for (const [k, rate] of Object.entries(v.perSec)) {
      out.push(`| ${k} | ${rate.toFixed(1)} | ${v.cpuMsPerOp[k]?.toFixed(3) ?? ''} | ${v.runs[k].join(', ')} |`)
    }
    out.push('', '| ratio | |', '|---|---|')
    for (const [k, r] of Object.entries(v.ratios)) out.push(`| ${k} | ${x(r)} |`)
    out.push('')
  }

  if (s.storms.length > 0) {
    out.push('### Full logins over HTTP', '',
      'Per chunk of logins: `GET /api/auth/saml` (AuthnRequest, binding cookie) for each, timed; the IdP\'s answers signed ' +
      'while the gateway is idle, untimed; `POST /api/auth/saml/callback` with the binding cookie → session → handoff to a stub ' +
      `upstream (a thread of the bench process: 302 and a cookie, the identity header verified in one handoff of ${s.options.verifyEvery}), timed. ` +
      'Logins/s = logins / (time of both timed phases). Meanwhile a probe thread ' +
      `requests \`/api/auth/saml/health\` one at a time every ${s.options.probeMs} ms. The gateway runs in its own process (logs at ` +
      `${s.options.logLevel} to /dev/null); RSS is read there after a full GC.`, '',
      '| store | validation | logins | logins/s | AuthnRequest p50 / p99 ms | ACS p50 / p99 ms | /health p50 / p99 / max ms in the storm (idle p99) | gateway event loop in the ACS phases: delay p99 / max ms, busy, its CPU per ACS request | errors |',
      '|---|---|---|---|---|---|---|---|---|')
    for (const f of s.storms) {
      out.push(`| ${f.store} | ${f.workers === 0 ? 'inline (0 workers)' : `${f.workers} workers`} | ${f.logins} | ${f.loginsPerSec.toFixed(1)} | ` +
        `${f.authnRequest.p50} / ${f.authnRequest.p99} | ${f.acs.p50} / ${f.acs.p99} | ${f.health.storm.p50} / ${f.health.storm.p99} / ${f.health.storm.max} (${f.health.idle.p99}) | ` +
        `${f.serverLoopDelayMs.p99.toFixed(2)} / ${f.serverLoopDelayMs.max.toFixed(1)}, ${(f.serverLoopUtilization * 100).toFixed(0)}%, ${f.loopCpuMsPerLogin} ms | ${f.errors + f.upstream.identityErrors + f.health.errors} |`)
    }
    out.push('', '| store | RSS before | after first chunk | peak during | after all | growth | bytes per session |', '|---|---|---|---|---|---|---|')
    for (const f of s.storms) {
      out.push(`| ${f.store}${f.workers === 0 ? ' (inline)' : ''} | ${f.rssMb.before} MB | ${f.rssMb.afterFirstChunk} MB (${f.rssMb.afterFirstChunkLogins} logins) | ${f.rssMb.peakDuring} MB | ` +
        `${f.rssMb.after} MB (${f.logins} logins) | ${f.rssMb.growthPct >= 0 ? '+' : ''}${f.rssMb.growthPct}% | ${bytesText(f.bytesPerSession)} |`)
    }
    out.push('')
  }

  const r = s.repeat
  if (r !== undefined) {
    out.push('### Repeat login beside a bare Fastify route', '',
      '`GET /api/auth/saml` with a live session cookie (session read, identity minted, handoff to the stub upstream, answer relayed) ' +
      `vs \`GET /\` of a bare Fastify instance in the same process (no logger); ${r.seconds} s each, ${r.concurrency} at a time, ${s.options.repeatRounds} interleaved rounds, medians.`, '',
      '| | requests/s | p50 ms | p99 ms |', '|---|---|---|---|',
      `| repeat login | ${r.repeatLoginPerSec.toFixed(0)} | ${r.repeat.p50} | ${r.repeat.p99} |`,
      `| bare Fastify route | ${r.bareRoutePerSec.toFixed(0)} | ${r.bare.p50} | ${r.bare.p99} |`,
      `| ratio | ${(r.ratio * 100).toFixed(0)}% | | |`, '',
      `The gateway's event loop was busy ${(r.gatewayLoopUtilization * 100).toFixed(0)}% of the time during the repeat logins, ` +
      `${r.gatewayLoopCpuMsPerRequest} ms of its CPU per repeat login ` +
      '(100%: the gateway is the bottleneck; less: the machine, shared with the load generator and the stub upstream, is).', '')
  }
  return out.join('\n')
}

function bytesText (b: Record<string, number> | undefined): string {
  if (b === undefined) return ''
  if ('sessionKeyAndIndex' in b) {
    return `Redis: ${b.sessionKeyAndIndex} (session key ${b.sessionKey} + index sets ${b.indexKeys}); replay key ${b.replayKey}; used_memory / sessions ${b.usedMemoryPerSession}`
  }
  return `SQLite: ${b.sessionRowAndIndexes} (row + indexes, dbstat); replay entry ${b.replayEntry}; (file + WAL) / sessions ${b.fileAndWalPerSession}`
}
