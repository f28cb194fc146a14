//! Renders a scripted [`Reply`] in each provider's wire format, as real servers send it.

use serde_json::{Value, json};

use super::{Reply, Tail};
use crate::event::Usage;

/// Which API the request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Wire {
    pub(crate) fn of(path: &str) -> Option<Self> {
        if path.ends_with("/chat/completions") {
            Some(Wire::OpenAi)
        } else if path.ends_with("/messages") {
            Some(Wire::Anthropic)
        } else if path.contains(":streamGenerateContent") || path.contains(":generateContent") {
            Some(Wire::Gemini)
        } else {
            None
        }
    }
}

/// A piece of a streamed body.
pub(crate) enum Frame {
    /// Bytes to send.
    Data(String),
    /// Cut the connection here.
    Cut,
}

/// What the rendering needs to know about the request.
pub(crate) struct Context {
    wire: Wire,
    model: String,
    pub(crate) streaming: bool,
    include_usage: bool,
    usage: Option<Usage>,
}

impl Context {
    pub(crate) fn new(wire: Wire, path: &str, body: &Value, reply: &Reply) -> Self {
        let asked = match wire {
            Wire::Gemini => {
                path.split("/models/").nth(1).and_then(|rest| rest.split(':').next()).unwrap_or("gemini").to_string()
            }
            _ => body["model"].as_str().unwrap_or("fake").to_string(),
        };
        let streaming = match wire {
            Wire::Gemini => path.contains(":streamGenerateContent"),
            _ => body["stream"] == json!(true),
        };
        let include_usage = match wire {
            Wire::OpenAi => body["stream_options"]["include_usage"] == json!(true) || !streaming,
            _ => true,
        };
        let usage = (!reply.no_usage).then(|| {
            reply.usage.unwrap_or_else(|| {
                let mut words = 0;
                for key in ["messages", "contents", "system", "systemInstruction"] {
                    words += count_words(&body[key]);
                }
                let pieces: usize = reply.tool_calls.iter().map(|(_, a)| split3(a).len()).sum();
                Usage { prompt_tokens: words as u64, completion_tokens: (reply.pieces.len() + pieces) as u64 }
            })
        });
        Self { wire, model: reply.model.clone().unwrap_or(asked), streaming, include_usage, usage }
    }
}

fn count_words(v: &Value) -> usize {
    match v {
        Value::String(s) => s.split_whitespace().count(),
        Value::Array(a) => a.iter().map(count_words).sum(),
        Value::Object(o) => o.values().map(count_words).sum(),
        _ => 0,
    }
}

/// Splits tool arguments in up to three pieces so they arrive across several chunks.
fn split3(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return vec![s.to_string()];
    }
    let third = chars.len() / 3;
    vec![chars[..third].iter().collect(), chars[third..2 * third].iter().collect(), chars[2 * third..].iter().collect()]
}

const MALFORMED: &str = "data: {\"choices\": [{\"delta\": {\"content\": \"x\"\n\n";

/// Frames that differ only in one string (each streamed piece of a reply): the JSON around the
/// string is rendered once, so a long reply costs an escape and a copy per piece rather than a
/// JSON tree (the load test's fake LLM must stay cheap beside the server it measures).
struct PieceFrames {
    before: String,
    after: String,
}

impl PieceFrames {
    /// From the frame `render` makes for a piece; the output is the same as `render(piece)`.
    fn new(render: impl Fn(&str) -> Frame) -> Self {
        const MARKER: &str = "\u{1}piece\u{1}";
        let quoted = Value::from(MARKER).to_string();
        let text = match render(MARKER) {
            Frame::Data(text) => text,
            Frame::Cut => String::new(),
        };
        let (before, after) = text.split_once(&quoted).unwrap_or((&text, ""));
        Self { before: before.to_string(), after: after.to_string() }
    }

    fn frame(&self, piece: &str) -> Frame {
        Frame::Data(format!("{}{}{}", self.before, Value::from(piece), self.after))
    }
}

fn data(v: &Value) -> Frame {
    Frame::Data(format!("data: {v}\n\n"))
}

fn named(event: &str, v: &Value) -> Frame {
    Frame::Data(format!("event: {event}\ndata: {v}\n\n"))
}

/// The streamed body.
pub(crate) fn frames(ctx: &Context, reply: &Reply) -> Vec<Frame> {
    match ctx.wire {
        Wire::OpenAi => openai_frames(ctx, reply),
        Wire::Anthropic => anthropic_frames(ctx, reply),
        Wire::Gemini => gemini_frames(ctx, reply),
    }
}

/// Pushes the fault frames; returns `true` when the stream must stop here.
fn tail(out: &mut Vec<Frame>, reply: &Reply) -> bool {
    match reply.tail {
        Tail::Complete => false,
        Tail::Malformed => {
            out.push(Frame::Data(MALFORMED.into()));
            false
        }
        Tail::Disconnect => {
            out.push(Frame::Cut);
            true
        }
    }
}

fn openai_frames(ctx: &Context, reply: &Reply) -> Vec<Frame> {
    let chunk = |choices: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": ctx.model,
               "choices": choices})
    };
    let mut out =
        vec![data(&chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])))];
    let pieces = PieceFrames::new(|piece| data(&chunk(json!([{"index": 0, "delta": {"content": piece}, "finish_reason": null}]))));
    out.extend(reply.pieces.iter().map(|piece| pieces.frame(piece)));
    for (i, (name, args)) in reply.tool_calls.iter().enumerate() {
        let first = json!([{"index": 0, "delta": {"tool_calls": [{"index": i, "id": format!("call_{i}"),
            "type": "function", "function": {"name": name, "arguments": ""}}]}, "finish_reason": null}]);
        out.push(data(&chunk(first)));
        for piece in split3(args) {
            let part = json!([{"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": piece}}]},
                "finish_reason": null}]);
            out.push(data(&chunk(part)));
        }
    }
    if tail(&mut out, reply) {
        return out;
    }
    let reason = if reply.tool_calls.is_empty() { "stop" } else { "tool_calls" };
    out.push(data(&chunk(json!([{"index": 0, "delta": {}, "finish_reason": reason}]))));
    if let (true, Some(u)) = (ctx.include_usage, ctx.usage) {
        let mut last = chunk(json!([]));
        last["usage"] = json!({"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total()});
        out.push(data(&last));
    }
    out.push(Frame::Data("data: [DONE]\n\n".into()));
    out
}

fn anthropic_frames(ctx: &Context, reply: &Reply) -> Vec<Frame> {
    let usage = ctx.usage.unwrap_or_default();
    let mut out = vec![named(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant",
            "model": ctx.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    if !reply.pieces.is_empty() {
        out.push(named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        out.push(named("ping", &json!({"type": "ping"})));
        let pieces = PieceFrames::new(|piece| {
            named("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}))
        });
        out.extend(reply.pieces.iter().map(|piece| pieces.frame(piece)));
        out.push(named("content_block_stop", &json!({"type": "content_block_stop", "index": 0})));
        index = 1;
    }
    for (i, (name, args)) in reply.tool_calls.iter().enumerate() {
        let at = index + i;
        out.push(named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": at, "content_block": {"type": "tool_use",
                "id": format!("toolu_{i}"), "name": name, "input": {}}}),
        ));
        for piece in split3(args) {
            out.push(named(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": at,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        out.push(named("content_block_stop", &json!({"type": "content_block_stop", "index": at})));
    }
    if tail(&mut out, reply) {
        return out;
    }
    let reason = if reply.tool_calls.is_empty() { "end_turn" } else { "tool_use" };
    let mut delta = json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null}});
    if ctx.usage.is_some() {
        delta["usage"] = json!({"output_tokens": usage.completion_tokens});
    }
    out.push(named("message_delta", &delta));
    out.push(named("message_stop", &json!({"type": "message_stop"})));
    out
}

fn gemini_frames(ctx: &Context, reply: &Reply) -> Vec<Frame> {
    let candidate = |parts: Value, finish: Option<&str>| {
        let mut c = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        if let Some(f) = finish {
            c["finishReason"] = json!(f);
        }
        c
    };
    let prompt = ctx.usage.map(|u| u.prompt_tokens).unwrap_or(0);
    let mut out = Vec::new();
    let pieces = PieceFrames::new(|piece| {
        let mut v = json!({"candidates": [candidate(json!([{"text": piece}]), None)], "modelVersion": ctx.model});
        if ctx.usage.is_some() {
            v["usageMetadata"] = json!({"promptTokenCount": prompt, "totalTokenCount": prompt});
        }
        data(&v)
    });
    out.extend(reply.pieces.iter().map(|piece| pieces.frame(piece)));
    if tail(&mut out, reply) {
        return out;
    }
    // Gemini sends function calls whole, in the last chunk with the finish reason.
    let calls: Vec<Value> =
        reply.tool_calls.iter().map(|(n, a)| json!({"functionCall": {"name": n, "args": args_json(a)}})).collect();
    let mut last = json!({"candidates": [candidate(Value::Array(calls), Some("STOP"))], "modelVersion": ctx.model});
    if let Some(u) = ctx.usage {
        last["usageMetadata"] = json!({"promptTokenCount": u.prompt_tokens,
            "candidatesTokenCount": u.completion_tokens, "totalTokenCount": u.total()});
    }
    out.push(data(&last));
    out
}

fn args_json(args: &str) -> Value {
    serde_json::from_str(args).unwrap_or_else(|_| json!({}))
}

/// The non-streamed JSON body.
pub(crate) fn whole(ctx: &Context, reply: &Reply) -> Value {
    let text = reply.full_text();
    let u = ctx.usage.unwrap_or_default();
    match ctx.wire {
        Wire::OpenAi => {
            let calls: Vec<Value> = reply
                .tool_calls
                .iter()
                .enumerate()
                .map(|(i, (n, a))| {
                    json!({"id": format!("call_{i}"), "type": "function",
                    "function": {"name": n, "arguments": a}})
                })
                .collect();
            let mut message = json!({"role": "assistant", "content": text});
            if !calls.is_empty() {
                message["tool_calls"] = Value::Array(calls);
            }
            let reason = if reply.tool_calls.is_empty() { "stop" } else { "tool_calls" };
            json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": ctx.model,
                "choices": [{"index": 0, "message": message, "finish_reason": reason}],
                "usage": {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                    "total_tokens": u.total()}})
        }
        Wire::Anthropic => {
            let mut content = Vec::new();
            if !text.is_empty() {
                content.push(json!({"type": "text", "text": text}));
            }
            for (i, (n, a)) in reply.tool_calls.iter().enumerate() {
                content.push(json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": n, "input": args_json(a)}));
            }
            let reason = if reply.tool_calls.is_empty() { "end_turn" } else { "tool_use" };
            json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": ctx.model, "content": content,
                "stop_reason": reason, "stop_sequence": null,
                "usage": {"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens}})
        }
        Wire::Gemini => {
            let mut parts = Vec::new();
            if !text.is_empty() {
                parts.push(json!({"text": text}));
            }
            for (n, a) in &reply.tool_calls {
                parts.push(json!({"functionCall": {"name": n, "args": args_json(a)}}));
            }
            json!({"candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": u.prompt_tokens, "candidatesTokenCount": u.completion_tokens,
                    "totalTokenCount": u.total()}, "modelVersion": ctx.model})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(frame: Frame) -> String {
        match frame {
            Frame::Data(text) => text,
            Frame::Cut => "<cut>".into(),
        }
    }

    #[test]
    fn piece_frames_are_the_frames_rendered_whole() {
        let render = |piece: &str| data(&json!({"choices": [{"delta": {"content": piece}}], "model": "m"}));
        let pieces = PieceFrames::new(render);
        for piece in ["", "SELECT ", "a \"quoted\" \\ back\\slash", "line\nbreak\ttab", "é ✓ \u{1}", "piece"] {
            assert_eq!(text(pieces.frame(piece)), text(render(piece)), "{piece:?}");
        }
    }
}
