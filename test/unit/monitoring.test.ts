/**
 * The monitoring bundle (deploy/monitoring) must only use what DM.ts really exports: every
 * `dm_*` metric in an alert or dashboard query is registered somewhere in src/, every dmctl
 * command a runbook tells the operator to run exists with the flags it names, and every error
 * code a runbook cites is in the code table with that number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { Command } from 'commander';
import { createRegistry } from '../../src/metrics/index.js';
import { CODES } from '../../src/errors/index.js';
import { buildProgram, newContext, allCommands } from '../../src/ctl/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MON = join(ROOT, 'deploy', 'monitoring');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

function loadRules(): Rule[] {
  const doc = YAML.parse(readFileSync(join(MON, 'dm-alerts.yml'), 'utf8')) as RuleFile;
  return doc.groups.flatMap((g) => g.rules);
}

function loadDashboard(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(MON, 'grafana-dm.json'), 'utf8')) as Record<string, unknown>;
}

/** Every PromQL string in the dashboard: panel targets' `expr` and variable queries. */
function dashboardQueries(dash: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (key === 'expr' || key === 'query' || key === 'definition') out.push(v);
      return;
    }
    if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(dash, '');
  return out;
}

/**
 * Metric-like identifiers starting with dm_ or dumpling_ (DM's dump metrics), or Node's standard
 * process_ / nodejs_ (label values in this bundle never contain these).
 */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:dm|dumpling|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]);
}

/** String literals `'dm_...'` in src/ (generated code excluded): the names the code registers. */
function namesInSource(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) {
        if (p !== join(ROOT, 'src', 'gen')) walk(p);
      } else if (p.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`]((?:dm|dumpling)_[a-z0-9_]+)['"`]/g)) if (m[1]) names.add(m[1]);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return names;
}

/** Default process metrics as the real per-process registry exposes them (standard names, no prefix). */
async function defaultMetricNames(): Promise<Set<string>> {
  const reg = createRegistry({ defaultMetrics: true });
  const json = await reg.getMetricsAsJSON();
  reg.clear();
  return new Set(json.map((m) => m.name));
}

const SUFFIXES = ['_bucket', '_sum', '_count'];

async function unknownMetrics(exprs: string[]): Promise<string[]> {
  const src = namesInSource();
  const defaults = await defaultMetricNames();
  const known = (n: string): boolean => {
    if (src.has(n) || defaults.has(n)) return true;
    const suffix = SUFFIXES.find((s) => n.endsWith(s));
    return suffix !== undefined && src.has(n.slice(0, -suffix.length));
  };
  const used = new Set(exprs.flatMap(metricNames));
  return [...used].filter((n) => !known(n)).sort();
}

test('every dm_* metric used by an alert rule is registered by the code', async () => {
  const rules = loadRules();
  assert.ok(rules.length >= 10, `expected the alert rules, found ${rules.length}`);
  assert.deepEqual(await unknownMetrics(rules.map((r) => r.expr)), []);
});

test('every dm_* metric used by a dashboard panel or variable is registered by the code', async () => {
  const queries = dashboardQueries(loadDashboard());
  assert.ok(queries.length >= 15, `expected the dashboard queries, found ${queries.length}`);
  assert.deepEqual(await unknownMetrics(queries), []);
});

test('the alerts cover the conditions DM operators page on', () => {
  const used = new Set(loadRules().flatMap((r) => metricNames(r.expr)));
  for (const m of [
    'dm_worker_task_state',
    'dm_syncer_replication_lag_gauge',
    'dm_master_worker_state',
    'dm_master_start_leader_counter',
    'dm_loader_finished_rows',
    'dumpling_dump_finished_rows',
    'dm_dumpling_exit_with_error_count',
    'dm_loader_exit_with_error_count',
    'dm_syncer_exit_with_error_count',
    'dm_syncer_binlog_pos',
    'dm_syncer_binlog_file',
    'dm_rpc_requests_total',
  ])
    assert.ok(used.has(m), `no alert uses ${m}`);
});

test('the dashboard shows state, lag, throughput, load progress, positions, queues, RPC p99 and leader changes', () => {
  const used = new Set(dashboardQueries(loadDashboard()).flatMap(metricNames));
  for (const m of [
    'dm_worker_task_state',
    'dm_syncer_replication_lag_gauge',
    'dm_syncer_replication_lag_bucket',
    'dm_syncer_finished_jobs_total',
    'dm_syncer_query_duration_time_bucket',
    'dm_loader_txn_duration_time_bucket',
    'dumpling_dump_estimate_total_rows',
    'dm_syncer_finished_transaction_total',
    'dm_loader_progress',
    'dm_syncer_binlog_pos',
    'dm_syncer_binlog_file',
    'dm_syncer_queue_size',
    'dm_rpc_duration_seconds_bucket',
    'dm_master_start_leader_counter',
  ])
    assert.ok(used.has(m), `no dashboard panel uses ${m}`);
});

test('every alert has a unique name, a severity, a summary, a description and a runbook', () => {
  const rules = loadRules();
  const names = rules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length, 'duplicate alert names');
  for (const r of rules) {
    assert.ok(r.alert, `a rule without alert name: ${r.expr}`);
    assert.ok(['critical', 'warning', 'info'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`);
    for (const k of ['summary', 'description', 'runbook']) assert.ok((r.annotations?.[k] ?? '').length > 10, `${r.alert}: ${k}`);
  }
});

test('error codes cited by the runbooks exist in the code table with that number', () => {
  const table = CODES as Record<string, { code: number }>;
  let cited = 0;
  for (const r of loadRules()) {
    const text = Object.values(r.annotations ?? {}).join('\n');
    for (const m of text.matchAll(/\b(Err[A-Za-z]+) \((\d{5})\)/g)) {
      const [, name = '', num = ''] = m;
      cited++;
      assert.ok(table[name], `${r.alert}: ${name} is not in src/errors/codes.ts`);
      assert.equal(table[name].code, Number(num), `${r.alert}: ${name} is ${table[name].code}, not ${num}`);
    }
  }
  assert.ok(cited >= 10, `expected the runbooks to cite error codes, found ${cited}`);
});

test('dmctl commands in the runbooks exist, are implemented and accept the flags shown', () => {
  const program = buildProgram(newContext(), true);
  const globals = new Set(program.options.map((o) => o.long));
  const pending = new Set(allCommands().filter((c) => c.summary.includes('not implemented')).map((c) => c.name));
  const byName = new Map<string, Command>(program.commands.map((c) => [c.name(), c]));
  let seen = 0;
  for (const r of loadRules()) {
    for (const m of (r.annotations?.runbook ?? '').matchAll(/`dmctl ([^`]+)`/g)) {
      const words = (m[1] ?? '').split(/\s+/);
      let i = 0;
      while (words[i]?.startsWith('--')) i += 2; // global flags with a value (--master-addr H:P)
      const name = words[i] ?? '';
      let cmd = byName.get(name);
      assert.ok(cmd, `${r.alert}: dmctl has no command ${name}`);
      assert.ok(!pending.has(name), `${r.alert}: dmctl ${name} is not implemented`);
      // a subcommand (`shard-ddl-lock unlock`) has flags of its own
      const sub = cmd.commands.find((c) => c.name() === words[i + 1]);
      if (sub) {
        cmd = sub;
        i++;
      }
      const flags = new Set(cmd.options.map((o) => o.long));
      for (const w of words.slice(i + 1)) if (w.startsWith('--')) assert.ok(flags.has(w) || globals.has(w), `${r.alert}: dmctl ${name} ${cmd.name()} has no flag ${w}`);
      seen++;
    }
  }
  assert.ok(seen >= 8, `expected dmctl commands in the runbooks, found ${seen}`);
});

test('prometheus.yml scrapes dm-master and dm-worker /metrics and loads the alert rules', () => {
  const cfg = YAML.parse(readFileSync(join(MON, 'prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[];
  };
  for (const f of cfg.rule_files) assert.ok(existsSync(join(MON, f)), `rule file ${f} missing`);
  assert.ok(cfg.rule_files.includes('dm-alerts.yml'));
  const jobs = new Map(cfg.scrape_configs.map((j) => [j.job_name, j]));
  for (const [job, port] of [['dm-master', '8261'], ['dm-worker', '8262']] as const) {
    const j = jobs.get(job);
    assert.ok(j, `no scrape job ${job}`);
    assert.equal(j.metrics_path ?? '/metrics', '/metrics');
    assert.ok(j.static_configs?.some((s) => s.targets.some((t) => t.endsWith(`:${port}`))), `${job} has no :${port} target`);
  }
  // Jobs the rules and panels select on must be the ones scraped.
  const selected = [...loadRules().map((r) => r.expr), ...dashboardQueries(loadDashboard())].flatMap((e) =>
    [...e.matchAll(/job=~?"([^"]+)"/g)].flatMap((m) => (m[1] ?? '').split('|')),
  );
  for (const j of selected) assert.ok(jobs.has(j), `job ${j} is used by a query but not scraped`);
});

test('dashboard panels have unique ids and only use defined variables', () => {
  const dash = loadDashboard() as { panels: { id: number; title: string }[]; templating: { list: { name: string }[] } };
  const ids = dash.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
  const vars = new Set([...dash.templating.list.map((v) => v.name), 'DS_PROMETHEUS', '__interval', '__rate_interval']);
  for (const q of dashboardQueries(dash))
    for (const m of q.matchAll(/\$\{?([A-Za-z_]+)/g)) assert.ok(vars.has(m[1] ?? ''), `undefined variable $${m[1]} in ${q}`);
});
