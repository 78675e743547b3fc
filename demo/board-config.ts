/**
 * What the board's demo routes answer (`GET /demo/config`, `POST /demo/token`): browser-safe
 * schemas, so the page imports their types without pulling server code.
 */
import { Type, type Static } from 'typebox'
import { Id, Role, Tournament } from '../schemas/common.js'

export const DemoUser = Type.Object({
  id: Id,
  name: Type.String(),
  memberships: Type.Array(Type.Object({ tournamentId: Id, role: Role }, { additionalProperties: false }))
}, { additionalProperties: false })
export type DemoUser = Static<typeof DemoUser>

export const BoardConfig = Type.Object({
  signIn: Type.Boolean(),
  prefix: Type.String(),
  tournaments: Type.Array(Tournament),
  users: Type.Array(DemoUser)
}, { additionalProperties: false })
export type BoardConfig = Static<typeof BoardConfig>

export const TokenRequest = Type.Object({ userId: Id }, { additionalProperties: false })
export const TokenResponse = Type.Object({ token: Type.String(), expiresIn: Type.Integer() }, { additionalProperties: false })
export type TokenResponse = Static<typeof TokenResponse>
