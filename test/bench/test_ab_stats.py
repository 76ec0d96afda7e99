#!/usr/bin/env python3
"""Unit test of ab.py's statistics and report (suite unit, no root): median, percentile, ratio,
the clients' parsers, the Markdown table and the JSON report. Exit status 1 on any failure."""
import json
import math
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402

failures = 0


def check(what, got, want):
    global failures
    ok = (got is None and want is None) or (
        got is not None and want is not None and
        (math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) if isinstance(want, float) else got == want))
    if not ok:
        failures += 1
        print('FAIL %s: got %r, want %r' % (what, got, want))


check('median odd', ab.median([3, 1, 2]), 2)
check('median even', ab.median([4, 1, 3, 2]), 2.5)
check('median one', ab.median([7]), 7)
check('median empty', ab.median([]), None)
check('median ignores None', ab.median([None, 5, None, 1, 3]), 3)
check('percentile 0', ab.percentile([10, 20, 30, 40, 50], 0), 10)
check('percentile 100', ab.percentile([10, 20, 30, 40, 50], 100), 50)
check('percentile 50', ab.percentile([50, 10, 40, 20, 30], 50), 30)
check('percentile 25 interpolates', ab.percentile([1, 2, 3, 4], 25), 1.75)
check('percentile 99', ab.percentile(list(range(1, 101)), 99), 99.01)
check('percentile empty', ab.percentile([], 50), None)
try:
    ab.percentile([1], 101)
    check('percentile 101 refused', 'accepted', 'ValueError')
except ValueError:
    pass
check('ratio', ab.ratio(3.0, 4.0), 0.75)
check('ratio by zero', ab.ratio(3, 0), None)
check('ratio missing', ab.ratio(None, 2), None)
check('pct_at exact', ab.pct_at([(50, 1.0), (99, 2.0), (99.9, 3.0)], 99), 2.0)
check('pct_at first above', ab.pct_at([(99.219, 2.0), (99.902, 3.0), (100, 4.0)], 99.9), 3.0)
check('pct_at beyond', ab.pct_at([(50, 1.0)], 99), None)
check('fmt big', ab.fmt(123456.7), '123457')
check('fmt small', ab.fmt(0.012345), '0.0123')
check('fmt none', ab.fmt(None), '-')

# The clients' outputs.
wrk = ('Running 5s test\nDPSB requests 1000\nDPSB duration_us 2000000\nDPSB errors 0 1 0 2 0\n'
       'DPSB mean_us 120.5\nDPSB pct 50 100\nDPSB pct 99 900\nDPSB pct 99.9 1500\n')
r = ab.parse_wrk(wrk)
check('wrk rps', r['rps'], 500.0)
check('wrk errors', r['errors'], 3)
check('wrk p99', r['p99_us'], 900.0)
check('wrk p99.9', r['p999_us'], 1500.0)
try:
    ab.parse_wrk('connection refused\n')
    check('wrk without summary refused', 'accepted', 'ValueError')
except ValueError:
    pass
rb = '''====== GET ======
  20000 requests completed in 0.25 seconds
Latency by percentile distribution:
0.000% <= 0.159 milliseconds (cumulative count 16)
50.000% <= 0.615 milliseconds (cumulative count 10080)
99.805% <= 2.463 milliseconds (cumulative count 19968)
99.902% <= 2.471 milliseconds (cumulative count 20000)
100.000% <= 2.471 milliseconds (cumulative count 20000)

Cumulative distribution of latencies:
0.000% <= 0.103 milliseconds (cumulative count 0)

Summary:
  throughput summary: 80000.00 requests per second
  latency summary (msec):
          avg       min       p50       p95       p99       max
        0.751     0.152     0.615     2.271     2.431     2.471
'''
r = ab.parse_redis_benchmark(rb)
check('redis rps', r['rps'], 80000.0)
check('redis ops', r['ops'], 20000)
check('redis p50', r['p50_us'], 615.0)
check('redis p99', r['p99_us'], 2431.0)
check('redis p99.9 (first point above)', r['p999_us'], 2471.0)
sp = '''sockperf: [Valid Duration] RunTime=1.550 sec; SentMessages=46728; ReceivedMessages=46728
sockperf: ====> avg-rtt=33.119 (std-dev=41.425)
sockperf: ---> <MAX> observation = 2128.235
sockperf: ---> percentile 99.900 =  387.351
sockperf: ---> percentile 99.000 =  100.993
sockperf: ---> percentile 50.000 =    5.077
'''
r = ab.parse_sockperf(sp)
check('sockperf p50', r['p50_us'], 5.077)
check('sockperf p99.9', r['p999_us'], 387.351)
check('sockperf ops', r['ops'], 46728)

# A result through the table and the JSON report.
runs = {('c8', 'dpsock'): [{'rps': 100.0, 'p99_us': 10.0}, {'rps': 300.0, 'p99_us': 30.0},
                          {'rps': 200.0, 'p99_us': 20.0}],
        ('c8', 'kernel'): [{'rps': 400.0}, {'rps': 400.0}, {'rps': 400.0}]}


class Args:
    repeats = 3
    quick = False


b = ab.Bench.__new__(ab.Bench)
b.args = Args()
b.commands = ['wrk -c8 URL']
res = b.result('t', 'a test', {'key': 'rps', 'label': 'req/s', 'op': 'req', 'higher_is_better': True},
               ['c8'], ['dpsock', 'kernel'], ['kernel'], runs)
check('result median', res['results']['c8']['dpsock']['median']['rps'], 200.0)
check('result median p99', res['results']['c8']['dpsock']['median']['p99_us'], 20.0)
headers, rows = ab.result_rows(res)
check('table rows', len(rows), 2)
check('table ratio', rows[0][3], 0.5)
check('table baseline ratio', rows[1][3], 1.0)
check('table paired ratio', rows[0][4], 0.5)  # median of 0.25, 0.75, 0.5
check('paired ratio', ab.paired_ratio([{'x': 2.0}, {'x': 9.0}, {'x': 1.0}],
                                      [{'x': 1.0}, {'x': 3.0}, {'x': 1.0}], 'x'), 2.0)
check('paired ratio missing', ab.paired_ratio([{'x': 2.0}], [{}], 'x'), None)
md = ab.markdown_table(headers, rows)
check('markdown row', '| c8 | dpsock | 200 | 0.5 | 0.5 | - | 20 |' in md, True)
check('markdown separator', md.splitlines()[1].count('---'), len(headers))
out = tempfile.mkdtemp(prefix='dps-ab-test.')
ab.plots = lambda res, out: []  # no gnuplot in a unit test
ab.write_report(res, out)
with open(os.path.join(out, 't.json')) as f:
    j = json.load(f)
check('json ratio input', j['results']['c8']['kernel']['median']['rps'], 400.0)
check('json runs kept', len(j['results']['c8']['dpsock']['runs']), 3)
with open(os.path.join(out, 't.md')) as f:
    check('md file has the table', '| c8 | kernel | 400 | 1 | 1 |' in f.read(), True)
for n in os.listdir(out):
    os.unlink(os.path.join(out, n))
os.rmdir(out)

if failures:
    print('%d check(s) failed' % failures)
    sys.exit(1)
print('ok')
