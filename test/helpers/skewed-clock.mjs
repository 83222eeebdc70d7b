// Preloaded into a CLI process (NODE_OPTIONS=--import=…) to stand in for a machine whose
// clock is off: Date.now() runs EVK_CLOCK_SKEW_MS behind (negative) or ahead.
const skew = Number(process.env.EVK_CLOCK_SKEW_MS ?? 0)
const realNow = Date.now
Date.now = () => realNow() + skew
