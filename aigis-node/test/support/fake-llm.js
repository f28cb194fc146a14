'use strict'
// A wire-level fake of an OpenAI-compatible chat-completions server (node:http), answering each
// request with the next scripted reply, streamed in the real SSE format:
// `data: {chunk}\n\n` with choices[0].delta.content, a usage chunk, then `data: [DONE]`.

const http = require('node:http')

/** A reply streamed in `chunks` pieces (default 2). */
function text(content, { chunks = 2, usage = { prompt_tokens: 100, completion_tokens: 10 } } = {}) {
  return { kind: 'text', content, chunks, usage }
}

/** A reply streamed as `count` pieces of `piece`, one every `everyMs` (for cancellation tests). */
function slow(piece, { count = 200, everyMs = 20 } = {}) {
  return { kind: 'slow', piece, count, everyMs }
}

/** An HTTP error answer, as the provider would send it. */
function httpError(status, message) {
  return { kind: 'error', status, message }
}

function split(content, n) {
  const size = Math.ceil(content.length / n) || 1
  const parts = []
  for (let i = 0; i < content.length; i += size) parts.push(content.slice(i, i + size))
  return parts
}

/**
 * Starts the fake on 127.0.0.1 (random port); `fallback` answers once the script is used up.
 * Resolves to
 * `{ baseUrl, requests, slowStreams, close() }`: `requests` holds `{ headers, body }` of every
 * chat request; each slow reply adds `{ sent, finished, closedEarly, closed: Promise }`.
 */
async function startFakeLlm(script, { model = 'fake-model-1', fallback = text('(script exhausted)') } = {}) {
  const replies = [...script]
  const requests = []
  const slowStreams = []
  let id = 0

  const server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }))
        return
      }
      const body = JSON.parse(raw)
      requests.push({ headers: req.headers, body })
      const reply = replies.shift() ?? fallback
      if (reply.kind === 'error') {
        res.writeHead(reply.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { message: reply.message, type: 'fake_error' } }))
        return
      }
      if (!body.stream) {
        const content = reply.kind === 'text' ? reply.content : reply.piece.repeat(reply.count)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({
          id: `chatcmpl-${++id}`, object: 'chat.completion', created: 1, model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { ...reply.usage, total_tokens: 0 },
        }))
        return
      }
      const chatId = `chatcmpl-${++id}`
      const chunk = (delta, finish = null) => ({
        id: chatId, object: 'chat.completion.chunk', created: 1, model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
      const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`)
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      send(chunk({ role: 'assistant', content: '' }))
      if (reply.kind === 'text') {
        for (const part of split(reply.content, reply.chunks)) send(chunk({ content: part }))
        send(chunk({}, 'stop'))
        const u = reply.usage
        send({ id: chatId, object: 'chat.completion.chunk', created: 1, model, choices: [],
          usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens } })
        res.end('data: [DONE]\n\n')
        return
      }
      // Slow: keep sending until done or until the client goes away.
      const state = { sent: 0, finished: false, closedEarly: false }
      state.closed = new Promise((resolve) => res.on('close', () => {
        state.closedEarly = !state.finished
        clearInterval(timer)
        resolve()
      }))
      slowStreams.push(state)
      const timer = setInterval(() => {
        if (state.sent < reply.count) {
          send(chunk({ content: reply.piece }))
          state.sent += 1
          return
        }
        clearInterval(timer)
        send(chunk({}, 'stop'))
        state.finished = true
        res.end('data: [DONE]\n\n')
      }, reply.everyMs)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    requests,
    slowStreams,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }),
  }
}

module.exports = { startFakeLlm, text, slow, httpError }
