/**
 * Response serializers built on a route's first response instead of at start. Fastify compiles a
 * fast-json-stringify function for every response schema of every route when the app starts; for
 * matchcast's side routes that is most of the start's CPU and allocation (and some 14 MiB of the
 * demo server's RSS), for routes many processes never answer. The serializer is the one Fastify
 * would build (the same compiler, the scope's shared schemas), so the bytes sent are the same.
 */
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyInstance, FastifySerializerCompiler } from 'fastify'

type Serialize = (data: unknown) => string

/**
 * Makes `app`'s scope build each response serializer on first use. Call it in an encapsulated
 * plugin's scope, before its routes; shared schemas added to the scope later are seen.
 */
export function lazySerializers (app: FastifyInstance): void {
  const factory = SerializerSelector()
  let compile: SerializerSelector.SerializerCompiler | undefined
  const lazily: FastifySerializerCompiler<unknown> = (route) => {
    let serialize: Serialize | undefined
    return (data: unknown) => {
      // By the first response every schema of the scope has been added.
      compile ??= factory(app.getSchemas())
      // A response schema always comes with its status (`httpStatus`), which the compiler's type requires.
      serialize ??= compile(route as SerializerSelector.RouteDefinition)
      return serialize(data)
    }
  }
  app.setSerializerCompiler(lazily)
}
