import { createHash, timingSafeEqual } from 'node:crypto'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'

/** Checks a request to a staff route; throws the 401 or 403 the caller answers with. */
export type AdminCheck = (request: Request) => void

/**
 * The guard of staff routes (`PUT /stock`, the registry's `PUT /config`): `Authorization: Bearer
 * <--admin-token>`. No header, or not a bearer one, is a 401; another token a 403. Tokens are
 * compared as SHA-256 digests with `timingSafeEqual`, so the time taken tells nothing of the token
 * or its length. Without a token (allowed in the dev profile only) the routes are open.
 */
export function adminCheck(token: string): AdminCheck {
  if (token === '') return () => {}
  const expected = digest(token)
  return (request) => {
    const header = request.headers.get('authorization') ?? ''
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (!match) throw new UnauthorizedError('this route is for staff: send Authorization: Bearer <admin token>')
    if (!timingSafeEqual(digest(match[1]), expected)) throw new ForbiddenError('the bearer token is not the admin token')
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest()
