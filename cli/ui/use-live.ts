import { useEffect, useState } from 'react'

/**
 * False for a dialog's first frame, true once its key handler listens. ink draws a frame before
 * the effects that attach key handlers run: a prompt drawn in that gap invites keys that would go
 * to the screen behind it (typing "Back in 5" there would press c, cancel). Declared after
 * `useInput`, its effect runs after the handler is attached, so a prompt shown when `live` is
 * true is a prompt that listens.
 */
export function useLive(): boolean {
  const [live, setLive] = useState(false)
  useEffect(() => setLive(true), [])
  return live
}
