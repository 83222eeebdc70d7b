// Preloaded into a measured child (`node --import ./bench/rss-probe.mjs …`). On exit it writes
// to $EVK_BENCH_RSS_FILE, as JSON:
//   maxRssKib   the process's peak resident set size (getrusage maxrss, every thread included)
//   heapFloorMb the smallest V8 heapUsed sampled in the second half of the run: the live set
//               between collections. A leak raises it; garbage waiting for the GC does not.
// Plain JavaScript so it loads before tsx is registered.
import { writeFileSync } from 'node:fs'

const file = process.env.EVK_BENCH_RSS_FILE
if (file) {
  const samples = []
  const timer = setInterval(() => samples.push(process.memoryUsage().heapUsed), 100)
  timer.unref()
  process.on('exit', () => {
    const late = samples.slice(Math.floor(samples.length / 2))
    const heapFloorMb = late.length > 0 ? Math.min(...late) / 1e6 : null
    writeFileSync(file, JSON.stringify({ maxRssKib: process.resourceUsage().maxRSS, heapFloorMb }))
  })
}
