// Types of the `aigis` package entry: the generated native types (binding.d.ts) plus the
// async-iterable `Assistant.stream()` that index.js adds.
import type { AigisEvent, AskOptions } from './binding'
import { Assistant as NativeAssistant } from './binding'

export type { AigisError, AigisEvent, Answer, AskOptions, AssistantOptions, GuardOptions, Note, Policy, Stage, Usage, Verdict, Violation } from './binding'
export { guard, demoDatabase, eventSchema, EventStreamHandle } from './binding'

/** A governed data assistant over one database and one model. */
export declare class Assistant extends NativeAssistant {
  /**
   * Answers a question as a stream of events; leaving the loop early closes the stream, which
   * cancels the LLM request and the database query.
   */
  stream(question: string, options?: AskOptions | null): AsyncGenerator<AigisEvent, void, undefined>
}
