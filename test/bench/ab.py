#!/usr/bin/env python3
"""ab.py SCENARIO: A/B benchmarks of unmodified programs on dpsock against the kernel's TCP (issue 7).

    test/bench/ab.py SCENARIO [--build build-bench] [--repeats N] [--seconds S] [--out DIR] [--quick]

Scenarios (`ab.py --list`): nginx, nginx_close, redis, memif, sockperf, iperf3. Each one runs the
same program for dpsock and for the kernel, alternating (A B A B ...) N times in one invocation,
and reports medians, the ratio dpsock/kernel, latency percentiles where the client gives them,
the CPU time of the server's process tree (utime+stime from /proc) and of the client (rusage),
the exact command lines and the versions: a Markdown table (stdout and DIR/SCENARIO.md), JSON
(DIR/SCENARIO.json) and gnuplot PNGs (DIR/SCENARIO-*.png).

The testbed (test/testbed.sh: dps-stack/dps-peer, veth dps0/dps1) is held under
/run/dpsock-testbed.lock for the whole run; the kernel side gives dps0 the stack's address
(198.18.0.2/24) and runs the same program without the shim, as demo.sh does. Servers run on core
1, clients on core 0 (taskset). Every process started here is stopped at the end, also on
failure. Root only. Timing figures are noisy on a shared machine: read the ratios.
"""
import argparse
import datetime
import fcntl
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK_IP = '198.18.0.2'
PEER_IP = '198.18.0.1'
MEMIF_SERVER_IP = '198.19.0.1'
MEMIF_CLIENT_IP = '198.19.0.2'
AFP_DEV = 'net_af_packet0,iface=dps0'
SERVER_CPU = '1'
CLIENT_CPU = '0'
LOCK = '/run/dpsock-testbed.lock'
NOFILE = 65536
# Percentiles asked of wrk's histogram (the CDF plots) and the ones of the table.
PCTS = [1, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.99]


# ---- statistics (unit-tested by test_ab_stats.py) -------------------------------------------

def median(xs):
    """Median of the numbers in xs (None entries ignored); None when there are none."""
    v = sorted(x for x in xs if x is not None)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def percentile(xs, p):
    """The p-th percentile (0-100) of xs, linear between closest ranks; None when xs is empty."""
    v = sorted(x for x in xs if x is not None)
    if not v:
        return None
    if not 0 <= p <= 100:
        raise ValueError('percentile %r outside 0-100' % (p,))
    k = (len(v) - 1) * p / 100.0
    lo = math.floor(k)
    hi = math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def paired_ratio(runs, base_runs, key):
    """Median over the repeats of run i / baseline run i: the two ran next to each other, under
    the same load from the rest of the machine, so their ratio is steadier than the ratio of the
    medians. None when no pair has both figures."""
    return median([ratio(a.get(key), b.get(key)) for a, b in zip(runs, base_runs)])


def pct_at(points, p):
    """From [(percentile, value)...] (a client's distribution), the value at the first point at or
    above percentile p; None when the distribution does not reach p."""
    for q, v in sorted(points):
        if q >= p - 1e-9:
            return v
    return None


def fmt(x, digits=3):
    """A number for the table: '-' when missing, thousands without decimals, else `digits`
    significant figures."""
    if x is None:
        return '-'
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return '%.0f' % x
    if x == 0:
        return '0'
    return '%.*g' % (digits, x)


def summarize(runs, keys):
    """Medians over the runs of each key."""
    return {k: median([r.get(k) for r in runs]) for k in keys}


def markdown_table(headers, rows):
    """A GitHub Markdown table; cells are formatted with fmt()."""
    out = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join('---' for _ in headers) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(fmt(c) for c in r) + ' |')
    return '\n'.join(out) + '\n'


LAT_KEYS = ['p50_us', 'p99_us', 'p999_us']


def result_rows(res):
    """The table of a result (see Bench.result): one row per case and side."""
    m = res['metric']
    headers = ['case', 'side', '%s (median)' % m['label']]
    for b in res['baselines']:
        headers.append('ratio vs %s' % b)
    for b in res['baselines']:
        headers.append('paired ratio vs %s' % b)
    headers += ['p50 µs', 'p99 µs', 'p99.9 µs', 'server CPU s', 'server CPU µs/%s' % m['op'],
                'client CPU s', 'runs (%s)' % m['label']]
    rows = []
    for case in res['cases']:
        for side in res['sides']:
            s = res['results'].get(case, {}).get(side)
            if s is None:
                continue
            med = s['median']
            row = [case, side, med.get(m['key'])]
            for b in res['baselines']:
                base = res['results'][case].get(b)
                row.append(ratio(med.get(m['key']), base['median'].get(m['key'])) if base else None)
            for b in res['baselines']:
                row.append(s.get('paired_ratio', {}).get(b))
            row += [med.get('p50_us'), med.get('p99_us'), med.get('p999_us'), med.get('cpu_server_s'),
                    med.get('cpu_server_us_per_op'), med.get('cpu_client_s'),
                    ' '.join(fmt(r.get(m['key'])) for r in s['runs'])]
            rows.append(row)
    return headers, rows


def result_markdown(res):
    """The Markdown report of a result: title, table, notes, commands, versions."""
    h, rows = result_rows(res)
    lines = ['## %s' % res['scenario'], '',
             '%s; %d repeats alternating %s; median of the repeats; ratio = side / baseline '
             '(%s is better); paired ratio = median of the per-repeat ratios (each repeat\'s runs ran '
             'back to back)' % (res['what'], res['repeats'], ' '.join(res['sides']),
                                 'higher' if res['metric']['higher_is_better'] else 'lower'),
             '', markdown_table(h, rows)]
    for n in res.get('notes', []):
        lines.append('- ' + n)
    if res.get('notes'):
        lines.append('')
    lines.append('Commands, as run (`$WORK`: the run\'s temporary directory):')
    lines.append('')
    lines.append('```')
    lines.extend(res['commands'])
    lines.append('```')
    lines.append('')
    lines.append('Versions: ' + '; '.join('%s %s' % (k, v) for k, v in res['versions'].items()))
    lines.append('')
    return '\n'.join(lines)


# ---- parsers of the clients' outputs ---------------------------------------------------------

WRK_LUA = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("DPSB requests %d\n", summary.requests))
  io.write(string.format("DPSB duration_us %d\n", summary.duration))
  io.write(string.format("DPSB errors %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format("DPSB mean_us %f\n", latency.mean))
  io.write(string.format("DPSB max_us %d\n", latency.max))
  for _, p in ipairs({PCTS}) do
    io.write(string.format("DPSB pct %g %d\n", p, latency:percentile(p)))
  end
end
'''.replace('PCTS', ', '.join(str(p) for p in PCTS))


def parse_wrk(text):
    """wrk's output with WRK_LUA's done(): requests, rps, errors, latency percentiles (µs)."""
    r = {'pct': []}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 2 or f[0] != 'DPSB':
            continue
        if f[1] == 'requests':
            r['ops'] = int(f[2])
        elif f[1] == 'duration_us':
            r['duration_s'] = int(f[2]) / 1e6
        elif f[1] == 'errors':
            r['errors'] = sum(int(x) for x in f[2:])
        elif f[1] == 'mean_us':
            r['mean_us'] = float(f[2])
        elif f[1] == 'pct':
            r['pct'].append((float(f[2]), float(f[3])))
    if 'ops' not in r or not r.get('duration_s'):
        raise ValueError('no wrk summary in the output:\n' + text[-2000:])
    r['rps'] = r['ops'] / r['duration_s']
    r['p50_us'] = pct_at(r['pct'], 50)
    r['p99_us'] = pct_at(r['pct'], 99)
    r['p999_us'] = pct_at(r['pct'], 99.9)
    return r


def parse_redis_benchmark(text):
    """redis-benchmark's (7.x) full output of one test: rps, requests, percentiles (µs, the HDR
    distribution's points: p99.9 is the first point at or above 99.9 %)."""
    r = {'pct': []}
    m = re.search(r'(\d+) requests completed in ([\d.]+) seconds', text)
    if m:
        r['ops'] = int(m.group(1))
        r['duration_s'] = float(m.group(2))
    m = re.search(r'throughput summary: ([\d.]+) requests per second', text)
    if not m:
        raise ValueError('no redis-benchmark summary in the output:\n' + text[-2000:])
    r['rps'] = float(m.group(1))
    part = text.split('Latency by percentile distribution:')
    if len(part) > 1:
        body = part[1].split('Cumulative distribution')[0]
        for q, v in re.findall(r'([\d.]+)% <= ([\d.]+) milliseconds', body):
            r['pct'].append((float(q), float(v) * 1000))
    m = re.search(r'avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+'
                  r'([\d.]+)\s+([\d.]+)\s+([\d.]+)', text)
    if m:
        r['mean_us'] = float(m.group(1)) * 1000
        r['p50_us'] = float(m.group(3)) * 1000
        r['p99_us'] = float(m.group(5)) * 1000
    r['p999_us'] = pct_at(r['pct'], 99.9)
    return r


def parse_sockperf(text):
    """sockperf pp/ul output: observations, rate, latency percentiles (µs; RTT with --full-rtt)."""
    r = {'pct': []}
    m = re.search(r'\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)',
                  text)
    if not m:
        raise ValueError('no sockperf summary in the output:\n' + text[-2000:])
    r['duration_s'] = float(m.group(1))
    r['sent'] = int(m.group(2))
    r['received'] = int(m.group(3))
    r['ops'] = r['sent']  # messages the server handled (ul: it answers 1 in 100)
    r['rps'] = r['sent'] / r['duration_s'] if r['duration_s'] else None
    m = re.search(r'avg-(?:rtt|lat)=([\d.]+)', text)
    if m:
        r['mean_us'] = float(m.group(1))
    for q, v in re.findall(r'---> percentile ([\d.]+) =\s*([\d.]+)', text):
        r['pct'].append((float(q), float(v)))
    m = re.search(r'---> <MAX> observation =\s*([\d.]+)', text)
    if m:
        r['max_us'] = float(m.group(1))
    r['p50_us'] = pct_at(r['pct'], 50)
    r['p99_us'] = pct_at(r['pct'], 99)
    r['p999_us'] = pct_at(r['pct'], 99.9)
    return r


def parse_iperf3(text):
    """iperf3 -J: Mbit/s received (sum_received), bytes, retransmits."""
    j = json.loads(text[text.index('{'):])
    if 'error' in j:
        raise ValueError('iperf3: ' + j['error'])
    end = j['end']
    rcv = end['sum_received']
    snd = end.get('sum_sent', {})
    return {'mbps': rcv['bits_per_second'] / 1e6, 'ops': rcv['bytes'] / 1e6,
            'duration_s': rcv['seconds'], 'retransmits': snd.get('retransmits')}


# ---- processes --------------------------------------------------------------------------------

def _child_setup():
    # A session of its own (so a server's whole tree is stopped as one group) and enough fds for
    # -c1024 clients.
    os.setsid()
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        pass


def proc_table():
    """{pid: (ppid, utime+stime in ticks)} of every process now."""
    t = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(')') + 2:].split()
        t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    return t


def tree_ticks(root):
    """{pid: cpu ticks} of root and all its descendants."""
    t = proc_table()
    kids = {}
    for pid, (ppid, _) in t.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in t and p not in out:
            out[p] = t[p][1]
            todo.extend(kids.get(p, []))
    return out


def cpu_delta_s(before, after):
    tck = os.sysconf('SC_CLK_TCK')
    return sum(v - before.get(p, 0) for p, v in after.items()) / tck


class Failed(Exception):
    pass


class Bench:
    """One invocation: the lock, the testbed, the processes, the records."""

    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.dpsock = os.path.join(self.build, 'tools', 'dpsock')
        self.lib = os.path.join(self.build, 'preload', 'libdpsock.so')
        self.out = os.path.abspath(args.out or os.path.join(self.build, 'bench-results'))
        self.work = tempfile.mkdtemp(prefix='dps-ab.')
        self.servers = []
        self.commands = []
        self.kernel_addr = False
        self.created_testbed = False
        self.lock_fd = None
        self.sysctls = []  # (namespace, name, old value): restored by cleanup

    # -- lifetime
    def setup(self):
        for f in (self.dpsock, self.lib):
            if not os.path.exists(f):
                raise Failed('%s is missing: meson compile -C %s' % (f, self.build))
        os.makedirs(self.out, exist_ok=True)
        self.lock_fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.time() + 1800
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise Failed('the testbed stayed busy (%s) for 30 minutes' % LOCK)
                time.sleep(1)
        if subprocess.run([os.path.join(ROOT, 'test', 'testbed.sh'), 'status'], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.created_testbed = True
            subprocess.run([os.path.join(ROOT, 'test', 'testbed.sh'), 'up'], check=True)
        self.kernel_off()
        with open(os.path.join(self.work, 'wrk.lua'), 'w') as f:
            f.write(WRK_LUA)

    def cleanup(self):
        for p in list(self.servers):
            self.stop(p)
        self.sysctl_restore()
        if self.kernel_addr or self.lock_fd is not None:
            self.kernel_off()
        if self.created_testbed:
            subprocess.run([os.path.join(ROOT, 'test', 'testbed.sh'), 'down'])
        if self.lock_fd is not None:
            os.close(self.lock_fd)
        shutil.rmtree(self.work, ignore_errors=True)

    def record(self, argv):
        """Keep one command line of each shape for the report (numbers kept as run)."""
        s = ' '.join(a if re.match(r'^[\w@%+=:,./-]+$', a) else "'%s'" % a.replace("'", "'\\''")
                     for a in argv)
        s = s.replace(self.work, '$WORK').replace(ROOT + '/', '')
        if s not in self.commands:
            self.commands.append(s)

    # -- sysctls of a namespace, for the length of a scenario
    def sysctl_set(self, ns, name, value):
        old = subprocess.run(['ip', 'netns', 'exec', ns, 'sysctl', '-n', name], stdout=subprocess.PIPE,
                             check=True).stdout.decode().strip()
        self.sysctls.append((ns, name, old))
        subprocess.run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', '%s=%s' % (name, value)], check=True)
        self.record(['ip', 'netns', 'exec', ns, 'sysctl', '-w', '%s=%s' % (name, value)])

    def sysctl_restore(self):
        while self.sysctls:
            ns, name, old = self.sysctls.pop()
            subprocess.run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', '%s=%s' % (name, old)], check=False)

    # -- kernel side of dps-stack
    def kernel_on(self):
        subprocess.run(['ip', '-n', 'dps-stack', 'addr', 'add', STACK_IP + '/24', 'dev', 'dps0'], check=True)
        subprocess.run(['ip', '-n', 'dps-peer', 'neigh', 'flush', 'dev', 'dps1'], check=False)
        self.kernel_addr = True

    def kernel_off(self):
        subprocess.run(['ip', '-n', 'dps-stack', 'addr', 'flush', 'dev', 'dps0'], check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(['ip', '-n', 'dps-peer', 'neigh', 'flush', 'dev', 'dps1'], check=False,
                       stderr=subprocess.DEVNULL)
        self.kernel_addr = False

    # -- command lines
    def in_stack(self, argv, cpu=SERVER_CPU):
        return ['ip', 'netns', 'exec', 'dps-stack', 'taskset', '-c', cpu] + argv

    def in_peer(self, argv, cpu=CLIENT_CPU):
        return ['ip', 'netns', 'exec', 'dps-peer', 'taskset', '-c', cpu] + argv

    def on_dpsock(self, argv, dev=AFP_DEV, ip=STACK_IP, env=()):
        e = ['env'] + list(env) if env else []
        return e + [self.dpsock, 'run', '--dev', dev, '--ip', ip + '/24', '--'] + argv

    def memif_dev(self, name, role):
        return 'net_memif0,role=%s,id=0,socket=%s' % (role, os.path.join(self.work, name + '.sock'))

    def on_memif(self, argv, name, role):
        ip = MEMIF_SERVER_IP if role == 'server' else MEMIF_CLIENT_IP
        return self.on_dpsock(argv, dev=self.memif_dev(name, role), ip=ip,
                              env=['DPSOCK_LISTEN_KERNEL=0', 'DPSOCK_FALLBACK=error',
                                   'DPSOCK_DEV_WAIT_MS=0'])

    # -- servers
    def start(self, argv, name):
        log = open(os.path.join(self.work, name + '.log'), 'ab')
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=_child_setup, cwd=self.work)
        log.close()
        p.name = name
        self.servers.append(p)
        self.record(argv)
        return p

    def log_of(self, name):
        try:
            with open(os.path.join(self.work, name + '.log'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self, p):
        """SIGTERM to the server's process group, up to 10 s, then SIGKILL."""
        if p in self.servers:
            self.servers.remove(p)
        for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            end = time.time() + wait_s
            while time.time() < end:
                if p.poll() is not None and not self._group_alive(p.pid):
                    break
                time.sleep(0.05)
            if p.poll() is not None and not self._group_alive(p.pid):
                break
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def _group_alive(pgid):
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    # -- clients
    def client(self, argv, timeout, record=True, check=True):
        """Run a client to completion (bounded): (rc, output, cpu seconds of it and its children)."""
        if record:
            self.record(argv)
        out_path = os.path.join(self.work, 'client.out')
        with open(out_path, 'wb') as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 preexec_fn=_child_setup, cwd=self.work)
        end = time.time() + timeout
        status, ru = None, None
        while status is None:
            pid, st, r = os.wait4(p.pid, os.WNOHANG)
            if pid:
                status, ru = st, r
                break
            if time.time() > end:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        try:
            os.killpg(p.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
        with open(out_path, errors='replace') as f:
            text = f.read()
        if check and p.returncode != 0:
            raise Failed('client exited with %d: %s\n%s' % (p.returncode, ' '.join(argv), text[-3000:]))
        return p.returncode, text, ru.ru_utime + ru.ru_stime

    def wait_until(self, what, probe, server, tries=60, pause=0.2):
        """probe() until it returns True, bounded; fails when the server exits first."""
        for _ in range(tries):
            if server.poll() is not None:
                raise Failed('%s exited before it was ready:\n%s' % (server.name, self.log_of(server.name)[-3000:]))
            if probe():
                return
            time.sleep(pause)
        raise Failed('%s not ready:\n%s' % (what, self.log_of(server.name)[-3000:]))

    def measure(self, server, argv, timeout, parse):
        """One client run against a server: the parsed figures plus the CPU of both sides."""
        before = tree_ticks(server.pid)
        _, text, cpu_client = self.client(argv, timeout)
        after = tree_ticks(server.pid)
        try:
            r = parse(text)
        except ValueError as e:
            raise Failed('%s: %s' % (' '.join(argv), e))
        r['cpu_server_s'] = cpu_delta_s(before, after)
        r['cpu_client_s'] = cpu_client
        if r.get('ops'):
            r['cpu_server_us_per_op'] = r['cpu_server_s'] * 1e6 / r['ops']
        return r

    # -- results
    def result(self, scenario, what, metric, cases, sides, baselines, runs, notes=()):
        keys = [metric['key'], 'p50_us', 'p99_us', 'p999_us', 'mean_us', 'cpu_server_s',
                'cpu_server_us_per_op', 'cpu_client_s', 'errors', 'ops']
        results = {}
        for case in cases:
            for side in sides:
                rs = runs.get((case, side), [])
                if not rs:
                    continue
                results.setdefault(case, {})[side] = {'median': summarize(rs, keys), 'runs': rs}
            for side, s in results.get(case, {}).items():
                s['paired_ratio'] = {b: paired_ratio(s['runs'], results[case][b]['runs'], metric['key'])
                                     for b in baselines if b in results[case]}
        return {'scenario': scenario, 'what': what, 'metric': metric, 'cases': cases, 'sides': sides,
                'baselines': baselines, 'repeats': self.args.repeats, 'results': results,
                'notes': list(notes), 'commands': self.commands,
                'versions': versions(getattr(self, 'build', None)),
                'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                'machine': machine(), 'quick': self.args.quick}


# ---- report: versions, machine, plots --------------------------------------------------------

def _first_line(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        for line in p.stdout.decode(errors='replace').splitlines():
            line = re.sub(r'\x1b\[[0-9;]*m', '', line).strip()
            if line:
                return line
    except (OSError, subprocess.TimeoutExpired):
        pass
    return '-'


def versions(build=None):
    git = _first_line(['git', '-C', ROOT, 'rev-parse', '--short=12', 'HEAD'])
    dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
    return {
        'dpsock': git + (' (+ uncommitted changes)' if dirty else ''),
        'kernel': os.uname().release,
        'DPDK': _first_line(['pkg-config', '--modversion', 'libdpdk']),
        'nginx': _first_line(['nginx', '-v']).replace('nginx version: nginx/', ''),
        'redis': _first_line(['redis-server', '--version']).split(' sha=')[0].replace('Redis server v=', ''),
        'wrk': _first_line(['wrk', '-v']).split(' [')[0].replace('wrk ', ''),
        'sockperf': _first_line(['sockperf', '--version']).replace('sockperf, version ', ''),
        'iperf3': _first_line(['iperf3', '--version']).split(' (')[0].replace('iperf ', ''),
        # the tree may have moved on since the build: when libdpsock.so was linked
        'libdpsock.so built': _mtime(os.path.join(build, 'preload', 'libdpsock.so')) if build else '-',
    }


def _mtime(path):
    try:
        return datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc).strftime(
            '%Y-%m-%d %H:%M UTC')
    except OSError:
        return '-'


def machine():
    model = '-'
    for line in _lscpu().splitlines():
        if line.startswith('Model name:'):
            model = line.split(':', 1)[1].strip()
    mem = '-'
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                mem = '%.1f GiB' % (int(line.split()[1]) / 1048576)
    return {'nproc': os.cpu_count(), 'memory': mem, 'cpu': model, 'kernel': os.uname().release}


def _lscpu():
    try:
        return subprocess.run(['lscpu'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return ''


def median_run(runs, key):
    """The run whose `key` is the (lower) median: its distribution is the one plotted."""
    rs = sorted((r for r in runs if r.get(key) is not None), key=lambda r: r[key])
    return rs[(len(rs) - 1) // 2] if rs else None


def plots(res, out):
    """gnuplot PNGs: the latency percentiles of each case and side (the median run), and, when the
    cases are connection counts, throughput vs connections. Returns the file names."""
    if not shutil.which('gnuplot'):
        print('ab.py: gnuplot not found (apt install gnuplot-nox): no plots', file=sys.stderr)
        return []
    name = res['scenario']
    files = []
    series = []
    for case in res['cases']:
        for side in res['sides']:
            s = res['results'].get(case, {}).get(side)
            r = s and median_run(s['runs'], res['metric']['key'])
            if not r or not r.get('pct'):
                continue
            dat = os.path.join(out, '%s-%s-%s.dat' % (name, re.sub(r'\W+', '_', case), side))
            with open(dat, 'w') as f:
                for q, v in sorted(r['pct']):
                    if 0 < q < 100:
                        f.write('%g %g\n' % (-math.log10(1 - q / 100.0), v))
            series.append((dat, '%s %s' % (side, case)))
    gp = ['set terminal pngcairo size 860,500 font ",9"', 'set grid', 'set key outside right top']
    if series:
        png = '%s-latency.png' % name
        gp += ['set output "%s"' % os.path.join(out, png),
               'set title "%s: latency percentiles (median run of each side)"' % name,
               'set xlabel "percentile"', 'set ylabel "latency (µs)"', 'set logscale y',
               'set xtics ("50" 0.30103, "90" 1, "99" 2, "99.9" 3, "99.99" 4)',
               'plot ' + ', '.join('"%s" using 1:2 with linespoints title "%s"' % s for s in series)]
        files.append(png)
    conns = [c for c in res['cases'] if re.fullmatch(r'c\d+', c)]
    if len(conns) > 1:
        dat = os.path.join(out, '%s-throughput.dat' % name)
        with open(dat, 'w') as f:
            for c in conns:
                f.write(c[1:] + ' ' + ' '.join(
                    fmt(res['results'].get(c, {}).get(side, {}).get('median', {}).get(res['metric']['key']))
                    .replace('-', 'NaN') for side in res['sides']) + '\n')
        png = '%s-throughput.png' % name
        gp += ['reset', 'set terminal pngcairo size 860,500 font ",9"', 'set grid', 'set key outside right top',
               'set output "%s"' % os.path.join(out, png),
               'set title "%s: %s vs connections (medians)"' % (name, res['metric']['label']),
               'set xlabel "connections"', 'set ylabel "%s"' % res['metric']['label'], 'set logscale x 2',
               'set yrange [0:*]',
               'plot ' + ', '.join('"%s" using 1:%d with linespoints title "%s"' % (dat, i + 2, side)
                                   for i, side in enumerate(res['sides']))]
        files.append(png)
    if files:
        script = os.path.join(out, name + '.gp')
        with open(script, 'w') as f:
            f.write('\n'.join(gp) + '\n')
        p = subprocess.run(['gnuplot', script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            print('ab.py: gnuplot failed:\n' + p.stdout.decode(errors='replace'), file=sys.stderr)
            return []
    return files


def write_report(res, out):
    res['plots'] = plots(res, out)
    md = result_markdown(res)
    if res['plots']:
        md += '\n' + '\n'.join('![%s](%s)' % (p, p) for p in res['plots']) + '\n'
    with open(os.path.join(out, res['scenario'] + '.md'), 'w') as f:
        f.write(md)
    with open(os.path.join(out, res['scenario'] + '.json'), 'w') as f:
        json.dump(res, f, indent=1, sort_keys=True)
    sys.stdout.write(md)


# ---- the programs ----------------------------------------------------------------------------

def nginx_conf(b, port, name):
    html = os.path.join(b.work, 'html')
    if not os.path.isdir(html):
        os.makedirs(html)
        with open(os.path.join(html, 'index.html'), 'w') as f:
            f.write(('dpsock benchmark page ' * 40)[:611] + '\n')  # 612 bytes, as nginx's default
    conf = os.path.join(b.work, name + '.conf')
    with open(conf, 'w') as f:
        f.write('''user root;
worker_processes 1;
daemon off;
pid %(w)s/%(n)s.pid;
error_log %(w)s/%(n)s.err notice;
worker_rlimit_nofile %(nofile)d;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 100000000;
    server { listen %(port)d; root %(html)s; }
}
''' % {'w': b.work, 'n': name, 'port': port, 'html': html, 'nofile': NOFILE})
    return ['nginx', '-c', conf]


def redis_argv(port):
    return ['redis-server', '--port', str(port), '--protected-mode', 'no', '--save', '',
            '--appendonly', 'no']


def curl_ok(b, wrap, url):
    rc, _, _ = b.client(wrap(['curl', '-s', '-o', '/dev/null', '--max-time', '5', url]), 15,
                        record=False, check=False)
    return rc == 0


def redis_ok(b, wrap, host, port):
    rc, out, _ = b.client(wrap(['redis-cli', '-h', host, '-p', str(port), 'PING']), 20,
                          record=False, check=False)
    return rc == 0 and 'PONG' in out


def wrk_argv(b, conns, seconds, url, close=False):
    a = ['wrk', '-t1', '-c%d' % conns, '-d%ds' % seconds, '--timeout', '5s', '-s',
         os.path.join(b.work, 'wrk.lua')]
    if close:
        a += ['-H', 'Connection: close']
    return a + [url]


def side_server(b, side, argv, name):
    """Start a server of dps-stack for a side ('dpsock': under the shim on dps0; 'kernel': dps0
    owned by the kernel)."""
    if side == 'kernel':
        b.kernel_on()
        return b.start(b.in_stack(argv), name)
    return b.start(b.in_stack(b.on_dpsock(argv)), name)


def side_done(b, side, server):
    b.stop(server)
    if side == 'kernel':
        b.kernel_off()


# ---- scenarios -------------------------------------------------------------------------------

def sc_nginx(b, close=False):
    a = b.args
    conns = ([8, 64] if a.quick else [8, 64, 256, 1024]) if not close else ([8, 64] if a.quick else [8, 64, 256])
    seconds = a.seconds or (1 if a.quick else 5)
    sides = ['dpsock', 'kernel']
    url = 'http://%s:8080/' % STACK_IP
    runs = {}
    if close:
        # wrk closes first (it has read the whole response): each connection leaves a TIME_WAIT in
        # dps-peer, and 28k ports / 60 s would cap both sides at about 470 conn/s. Let the client
        # reuse them (RFC 7323 timestamps) and use more ports, for this scenario only.
        b.sysctl_set('dps-peer', 'net.ipv4.tcp_tw_reuse', '1')
        b.sysctl_set('dps-peer', 'net.ipv4.ip_local_port_range', '1024 65535')
    for rep in range(a.repeats):
        for side in sides:
            srv = side_server(b, side, nginx_conf(b, 8080, 'nginx'), 'nginx-' + side)
            try:
                b.wait_until('nginx (%s)' % side, lambda: curl_ok(b, b.in_peer, url), srv)
                for c in conns:
                    r = b.measure(srv, b.in_peer(wrk_argv(b, c, seconds, url, close)), seconds + 60, parse_wrk)
                    runs.setdefault(('c%d' % c, side), []).append(r)
                    print('ab.py: %s repeat %d %s c%d: %.0f req/s p99 %s µs errors %s' % (
                        'nginx_close' if close else 'nginx', rep + 1, side, c, r['rps'], fmt(r['p99_us']),
                        r.get('errors')), file=sys.stderr)
            finally:
                side_done(b, side, srv)
    if close:
        return b.result('nginx_close', 'nginx (1 worker, 612-byte page) in dps-stack, wrk -t1 in dps-peer '
                        'with `Connection: close`: one connection per request, %d s per run' % seconds,
                        {'key': 'rps', 'label': 'conn/s', 'op': 'conn', 'higher_is_better': True},
                        ['c%d' % c for c in conns], sides, ['kernel'], runs,
                        ['conn/s = requests/s: nginx closes after each response, wrk reconnects; in dps-peer '
                     'net.ipv4.tcp_tw_reuse=1 and ports 1024-65535 for the run (wrk closes first and keeps '
                     'the TIME_WAITs; else about 470 conn/s for both sides); '
                         'latency includes the handshake; errors = wrk connect/read/write/status/timeout'])
    return b.result('nginx', 'nginx (1 worker, 612-byte page, keep-alive) in dps-stack, wrk -t1 in dps-peer, '
                    '%d s per run' % seconds,
                    {'key': 'rps', 'label': 'req/s', 'op': 'req', 'higher_is_better': True},
                    ['c%d' % c for c in conns], sides, ['kernel'], runs,
                    ['latency: wrk\'s histogram (done() hook, latency:percentile)'])


def sc_nginx_close(b):
    return sc_nginx(b, close=True)


def redis_cases(b, run_bench, pipelines, n_of):
    """Run SET then GET at each pipeline depth: {case: parsed run}."""
    out = {}
    for p in pipelines:
        for t in ('set', 'get'):
            out['%s -P%d' % (t.upper(), p)] = run_bench(t, p, n_of(p))
    return out


def sc_redis(b):
    a = b.args
    seconds = a.seconds or (1 if a.quick else 3)
    # requests per test: about `seconds` at the kernel's rate on this machine (80k/s, 400k/s)
    n_of = (lambda p: (20000 if p == 1 else 100000) * seconds) if not a.quick else (lambda p: 10000)
    sides = ['dpsock', 'kernel']
    runs = {}
    cases = ['%s -P%d' % (t, p) for p in (1, 16) for t in ('SET', 'GET')]
    for rep in range(a.repeats):
        for side in sides:
            srv = side_server(b, side, redis_argv(6379), 'redis-' + side)
            try:
                b.wait_until('redis (%s)' % side, lambda: redis_ok(b, b.in_peer, STACK_IP, 6379), srv)

                def bench(t, p, n):
                    argv = b.in_peer(['redis-benchmark', '-h', STACK_IP, '-p', '6379', '-t', t, '-n', str(n),
                                      '-c', '64', '-P', str(p)])
                    return b.measure(srv, argv, 300, parse_redis_benchmark)
                for case, r in redis_cases(b, bench, (1, 16), n_of).items():
                    runs.setdefault((case, side), []).append(r)
                    print('ab.py: redis repeat %d %s %s: %.0f req/s p99 %s µs' % (
                        rep + 1, side, case, r['rps'], fmt(r.get('p99_us'))), file=sys.stderr)
            finally:
                side_done(b, side, srv)
    return b.result('redis', 'redis-server in dps-stack, redis-benchmark -c 64 in dps-peer',
                    {'key': 'rps', 'label': 'req/s', 'op': 'req', 'higher_is_better': True},
                    cases, sides, ['kernel'], runs,
                    ['latency: redis-benchmark\'s HDR distribution (p99.9 = its first point at or above '
                     '99.9 %, e.g. 99.902 %); -P16: 16 commands per round trip'])


def sc_memif(b):
    """dpsock <-> dpsock over net_memif, next to kernel <-> kernel over the veth and over loopback."""
    a = b.args
    seconds = a.seconds or (2 if a.quick else 10)
    n = 10000 if a.quick else 10000 * seconds
    sides = ['dpsock-memif', 'kernel-veth', 'kernel-lo']
    cases = ['redis SET', 'redis GET', 'nginx c64']
    runs = {}
    for rep in range(a.repeats):
        for side in sides:
            if side == 'dpsock-memif':
                host = MEMIF_SERVER_IP
                srv_wrap = lambda argv, name: b.in_stack(b.on_memif(argv, name, 'server'))  # noqa: E731
                cli_wrap_of = lambda name: (lambda argv: b.in_stack(b.on_memif(argv, name, 'client'),  # noqa: E731
                                                                     cpu=CLIENT_CPU))
            elif side == 'kernel-veth':
                host = STACK_IP
                b.kernel_on()
                srv_wrap = lambda argv, name: b.in_stack(argv)  # noqa: E731
                cli_wrap_of = lambda name: b.in_peer  # noqa: E731
            else:
                host = '127.0.0.1'
                srv_wrap = lambda argv, name: b.in_stack(argv)  # noqa: E731
                cli_wrap_of = lambda name: (lambda argv: b.in_stack(argv, cpu=CLIENT_CPU))  # noqa: E731
            try:
                # redis
                cli = cli_wrap_of('redis')
                srv = b.start(srv_wrap(redis_argv(6380), 'redis'), 'memif-redis-' + side)
                try:
                    if side == 'dpsock-memif':
                        b.wait_until('redis log', lambda: 'Ready to accept' in b.log_of(srv.name), srv, tries=150)
                    b.wait_until('redis (%s)' % side, lambda: redis_ok(b, cli, host, 6380), srv, tries=8)
                    for t in ('set', 'get'):
                        argv = cli(['redis-benchmark', '-h', host, '-p', '6380', '-t', t, '-n', str(n),
                                    '-c', '64', '-P', '1'])
                        r = b.measure(srv, argv, 300, parse_redis_benchmark)
                        runs.setdefault(('redis ' + t.upper(), side), []).append(r)
                        print('ab.py: memif repeat %d %s redis %s: %.0f req/s' % (rep + 1, side, t, r['rps']),
                              file=sys.stderr)
                finally:
                    b.stop(srv)
                # nginx
                cli = cli_wrap_of('nginx')
                url = 'http://%s:8081/' % host
                srv = b.start(srv_wrap(nginx_conf(b, 8081, 'memif-nginx'), 'nginx'), 'memif-nginx-' + side)
                try:
                    b.wait_until('nginx (%s)' % side, lambda: curl_ok(b, cli, url), srv, tries=10)
                    # What a new client process pays before its first answer (on dpsock: its engine's
                    # start-up, which wrk's timed run includes).
                    t0 = time.time()
                    first = curl_ok(b, cli, url)
                    first_s = time.time() - t0 if first else None
                    r = b.measure(srv, cli(wrk_argv(b, 64, seconds, url)), seconds + 60, parse_wrk)
                    r['first_request_s'] = first_s
                    runs.setdefault(('nginx c64', side), []).append(r)
                    print('ab.py: memif repeat %d %s nginx c64: %.0f req/s' % (rep + 1, side, r['rps']),
                          file=sys.stderr)
                finally:
                    b.stop(srv)
            finally:
                if side == 'kernel-veth':
                    b.kernel_off()
    return b.result('memif', 'the pure user-space path: client and server both on dpsock, each its own '
                    'engine, joined by net_memif (198.19.0.2 -> 198.19.0.1), next to the same programs on '
                    'the kernel over the veth (dps-peer -> dps-stack) and over loopback (in dps-stack); '
                    'redis-benchmark -c 64 -P 1 (%d requests), wrk -t1 -c64 %d s' % (n, seconds),
                    {'key': 'rps', 'label': 'req/s', 'op': 'req', 'higher_is_better': True},
                    cases, sides, ['kernel-veth', 'kernel-lo'], runs,
                    ['issue 7\'s target: dpsock-memif >= 3x the kernel\'s req/s',
                     'client CPU: the client process (on dpsock too in dpsock-memif, where it busy-polls)',
                     'wrk on dpsock starts its engine (DPDK EAL, memif link) inside its timed run, so its '
                     'req/s is averaged over that start-up too; a curl through the same path just before '
                     'took (median) %s s on dpsock-memif, %s s on kernel-veth, %s s on kernel-lo' % tuple(
                         fmt(median([r.get('first_request_s') for r in runs.get(('nginx c64', sd), [])]))
                         for sd in sides)])


def sc_sockperf(b):
    a = b.args
    seconds = a.seconds or (2 if a.quick else 10)
    mps = a.load_mps
    sides = ['dpsock', 'kernel', 'dpsock-memif', 'kernel-lo']
    cases = ['ping-pong', 'under load %d msg/s' % mps]
    runs = {}
    for rep in range(a.repeats):
        for side in sides:
            if side == 'dpsock-memif':
                host = MEMIF_SERVER_IP
                srv_argv = b.in_stack(b.on_memif(['sockperf', 'sr', '--tcp', '-i', host, '-p', '11111'],
                                                 'sockperf', 'server'))
                cli = lambda argv: b.in_stack(b.on_memif(argv, 'sockperf', 'client'), cpu=CLIENT_CPU)  # noqa: E731
            elif side == 'kernel-lo':
                host = '127.0.0.1'
                srv_argv = b.in_stack(['sockperf', 'sr', '--tcp', '-i', host, '-p', '11111'])
                cli = lambda argv: b.in_stack(argv, cpu=CLIENT_CPU)  # noqa: E731
            else:
                host = STACK_IP
                argv = ['sockperf', 'sr', '--tcp', '-i', host, '-p', '11111']
                if side == 'kernel':
                    b.kernel_on()
                    srv_argv = b.in_stack(argv)
                else:
                    srv_argv = b.in_stack(b.on_dpsock(argv))
                cli = b.in_peer
            srv = b.start(srv_argv, 'sockperf-' + side)
            try:
                def probe():
                    rc, _, _ = b.client(cli(['sockperf', 'pp', '--tcp', '-i', host, '-p', '11111', '-t', '1']),
                                        20, record=False, check=False)
                    return rc == 0
                b.wait_until('sockperf server (%s)' % side, probe, srv, tries=6)
                for case, mode in zip(cases, (['pp'], ['ul', '--mps', str(mps)])):
                    argv = cli(['sockperf'] + mode + ['--tcp', '-i', host, '-p', '11111', '-t', str(seconds),
                                                      '--full-rtt'])
                    r = b.measure(srv, argv, seconds + 60, parse_sockperf)
                    runs.setdefault((case, side), []).append(r)
                    print('ab.py: sockperf repeat %d %s %s: p50 %s p99 %s µs' % (
                        rep + 1, side, case, fmt(r['p50_us']), fmt(r['p99_us'])), file=sys.stderr)
            except Failed as e:
                # sockperf on dpsock may not work: the other sides still run, the report says why.
                print('ab.py: sockperf %s failed: %s' % (side, e), file=sys.stderr)
                b.failures.append('%s: %s' % (side, str(e).splitlines()[0]))
            finally:
                b.stop(srv)
                if side == 'kernel':
                    b.kernel_off()
    notes = ['RTT in µs (--full-rtt); ping-pong: one message in flight; under load: `sockperf ul '
             '--mps %d`, the server answers every 100th message, whose RTT is measured' % mps,
             'dpsock: sockperf sr under the shim in dps-stack, client in dps-peer; dpsock-memif: both on '
             'dpsock over net_memif; kernel-lo: both on the kernel over loopback']
    notes += ['FAILED %s' % f for f in dict.fromkeys(b.failures)]
    return b.result('sockperf', 'sockperf TCP, %d s per run' % seconds,
                    {'key': 'p50_us', 'label': 'p50 RTT µs', 'op': 'msg', 'higher_is_better': False},
                    cases, sides, ['kernel', 'kernel-lo'], runs, notes)


def sc_iperf3(b):
    a = b.args
    seconds = a.seconds or (2 if a.quick else 10)
    sides = ['dpsock', 'kernel']
    cases = ['peer -> stack', 'stack -> peer (-R)']
    runs = {}
    url_args = ['-c', STACK_IP, '-p', '5201', '-J', '-t', str(seconds)]
    for rep in range(a.repeats):
        for side in sides:
            srv = side_server(b, side, ['iperf3', '-4', '-s', '-p', '5201'], 'iperf3-' + side)
            try:
                def probe():
                    rc, _, _ = b.client(b.in_peer(['iperf3', '-c', STACK_IP, '-p', '5201', '-n', '1M',
                                                   '--connect-timeout', '3000']), 20, record=False,
                                        check=False)
                    return rc == 0
                b.wait_until('iperf3 server (%s)' % side, probe, srv, tries=10)
                for case, extra in zip(cases, ([], ['-R'])):
                    r = b.measure(srv, b.in_peer(['iperf3'] + url_args + extra), seconds + 60, parse_iperf3)
                    runs.setdefault((case, side), []).append(r)
                    print('ab.py: iperf3 repeat %d %s %s: %.0f Mbit/s' % (rep + 1, side, case, r['mbps']),
                          file=sys.stderr)
            finally:
                side_done(b, side, srv)
    return b.result('iperf3', 'iperf3 -s in dps-stack (on dpsock under the shim, or on the kernel), '
                    'iperf3 -c in dps-peer, one TCP stream, %d s' % seconds,
                    {'key': 'mbps', 'label': 'Mbit/s', 'op': 'MB', 'higher_is_better': True},
                    cases, sides, ['kernel'], runs,
                    ['server CPU µs/MB: CPU of the iperf3 server per MB received or sent'])


def sc_prio(b):
    """Priority rules on vs off vs the kernel under saturation (issue 8): test/bench/ab_prio.py."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ab_prio
    return ab_prio.sc_prio(b, sys.modules[__name__])


SCENARIOS = {
    'nginx': (sc_nginx, 'nginx keep-alive, wrk -c 8/64/256/1024'),
    'nginx_close': (sc_nginx_close, 'nginx short connections (Connection: close): conn/s'),
    'redis': (sc_redis, 'redis-benchmark GET/SET -c 64, -P 1 and -P 16'),
    'memif': (sc_memif, 'dpsock <-> dpsock over memif vs kernel veth and loopback (redis, nginx)'),
    'sockperf': (sc_sockperf, 'sockperf ping-pong and under-load latency'),
    'iperf3': (sc_iperf3, 'iperf3 bulk throughput both ways'),
    'prio': (sc_prio, 'priority rules on/off vs kernel: per-class latency of a saturated IoT server'),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('scenario', nargs='?', choices=sorted(SCENARIOS))
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'), help='meson build dir')
    ap.add_argument('--repeats', type=int, default=None, help='A/B rounds (default 3, --quick 1)')
    ap.add_argument('--seconds', type=int, default=None, help='length of each client run')
    ap.add_argument('--out', default=None, help='report directory (default BUILD/bench-results)')
    ap.add_argument('--quick', action='store_true', help='a smoke run of seconds')
    ap.add_argument('--load-mps', type=int, default=20000, help='sockperf: message rate of the load case')
    ap.add_argument('--prio-rate', type=int, default=250000, help='prio: offered requests/s in total')
    ap.add_argument('--prio-conns', default='10000,100000', help='prio: connection counts, comma separated')
    ap.add_argument('--list', action='store_true', help='list the scenarios')
    ap.add_argument('--from-json', metavar='FILE', help='render the report (Markdown, plots) of an earlier '
                    'run\'s SCENARIO.json into --out (default: its directory); runs nothing')
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            res = json.load(f)
        write_report(res, os.path.abspath(args.out or os.path.dirname(args.from_json)))
        return 0
    if args.list or not args.scenario:
        for k, (_, d) in SCENARIOS.items():
            print('%-12s %s' % (k, d))
        return 0 if args.list else 2
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if os.geteuid() != 0:
        print('SKIP: needs root (network namespaces, DPDK)')
        return 77
    b = Bench(args)
    b.failures = []

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        b.setup()
        res = SCENARIOS[args.scenario][0](b)
        write_report(res, b.out)
        print('ab.py: report in %s/%s.{md,json}' % (b.out, args.scenario), file=sys.stderr)
    except Failed as e:
        print('FAIL: %s' % e, file=sys.stderr)
        return 1
    finally:
        b.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
