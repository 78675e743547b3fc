/**
 * The certificate PDF printed names outside Latin-1 as `?` ("????? ????? ? ?ód? Open ??"), showed the
 * winner's user id instead of their name, split the code over two lines and pointed to a verify URL
 * with a literal `<code>` placeholder.
 */
import t from 'tap'
import { memoryStore } from '../../plugins/store/memory-store.js'
import { bearer, finalizeM1, httpApp, liveSeed } from '../routes/http/setup.js'
import { pdfText } from '../pdf.js'

t.test('a tournament and a winner named in Cyrillic, Polish and an emoji print as written, with a working verify URL', async (t) => {
  const seed = liveSeed()
  seed.tournaments[0]!.name = 'Кубок Весны — Łódź Open 🏆'
  seed.users = [{ id: 'u-a', name: 'Алиса Łódź' }]
  const { app } = await httpApp(t, {}, memoryStore(seed))
  const { certificate } = await finalizeM1(app)
  const res = await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })
  t.equal(res.statusCode, 200)
  const text = await pdfText(res.rawPayload)
  t.match(text, 'Кубок Весны — Łódź Open')
  t.match(text, 'Алиса Łódź')
  t.notMatch(text, '?', 'nothing printed as ?')
  t.notMatch(text, 'Winner: u-a', 'the winner is named, not shown by id')
  t.notMatch(text, '<code>')
  t.match(text, certificate.shortCode, 'the short code is printed whole')
  t.match(text, `/certificates/verify/${certificate.shortCode}`, 'the verify URL names the code')
})
