/** Parsing and validating one client frame against the command table. */
import { Compile } from 'typebox/compile'
import type { RawData } from 'ws'
import { CommandError } from '../../lib/errors.js'
import { CommandId, Commands, type ClientCommand, type ErrorDetail } from '../../schemas/messages.js'

const validators = Object.fromEntries(Object.entries(Commands).map(([type, schema]) => [type, Compile(schema)])) as
  Record<string, { Check (value: unknown): boolean, Errors (value: unknown): Iterable<{ instancePath: string, keyword: string, message: string }> }>

/** Parses and validates one frame; throws `CommandError` (invalid_json, unknown_type, invalid_message). */
export function parseCommand (data: RawData): ClientCommand {
  let value: unknown
  try {
    value = JSON.parse(data.toString())
  } catch {
    throw new CommandError('invalid_json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CommandError('invalid_message', 'a command is a JSON object with a string "type"')
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') throw new CommandError('invalid_message', 'a command is a JSON object with a string "type"')
  if (!Object.hasOwn(validators, type)) throw new CommandError('unknown_type', `unknown command type ${JSON.stringify(type.slice(0, 64))}`)
  const validator = validators[type]!
  if (validator.Check(value)) return value as ClientCommand
  const details: ErrorDetail[] = [...validator.Errors(value)].slice(0, 10)
    .map((e) => ({ path: e.instancePath === '' ? '/' : e.instancePath, message: e.keyword === 'boolean' ? 'unknown field' : e.message }))
  throw new CommandError('invalid_message', `${type}: ${details[0]!.path} ${details[0]!.message}`, details)
}

const validCommandId = Compile(CommandId)

/** The `id` of a frame that failed to parse, to echo in the error: only one that is a valid `CommandId`. */
export function commandId (data: RawData): CommandId | undefined {
  try {
    const id = (JSON.parse(data.toString()) as { id?: unknown }).id
    return validCommandId.Check(id) ? id : undefined
  } catch {
    return undefined
  }
}
