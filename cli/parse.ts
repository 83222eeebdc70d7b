import { InvalidArgumentError } from 'commander'

/** A commander argument parser that rejects anything but a positive integer. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a positive whole number, got "${value}"`)
    return n
  }
}

/** A commander argument parser for a TCP port, 0 (any free one) to 65535: refused here, before anything starts. */
export function portNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError(`${flag} takes a port, a whole number 0-65535 (0: any free port), got "${value}"`)
    return n
  }
}

/** A commander argument parser for a JSON value (a key); a bare word is taken as a string. */
export function jsonValue(flag: string): (value: string) => unknown {
  return (value) => {
    try {
      return JSON.parse(value)
    } catch {
      if (/^[\w.-]+$/.test(value)) return value
      throw new InvalidArgumentError(`${flag} takes a key as JSON (e.g. 42 or '"abc"'), got ${value}`)
    }
  }
}
