import { InvalidArgumentError } from 'commander'

/** A commander argument parser that rejects anything but a positive integer. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a positive whole number, got "${value}"`)
    return n
  }
}
