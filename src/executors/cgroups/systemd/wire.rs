//! The D-Bus wire format: values and their signatures, marshalled little-endian (the
//! byte order we send; replies in either byte order are read), and the message header.
//!
//! Only what talking to systemd needs: the basic types `y b n q i u x t d s o g`, arrays,
//! structs, dict entries and variants. No unix fds (`h`): we never negotiate them.

use crate::bail;
use crate::error::{Error, Result};

/// The spec's limits: a longer array or message is malformed, whoever sent it.
const MAX_ARRAY_LEN: usize = 1 << 26;
const MAX_MESSAGE_LEN: usize = 1 << 27;
const MAX_SIGNATURE_LEN: usize = 255;
/// The spec allows 32 levels of arrays plus 32 of structs; a variant adds a level too.
/// The cap keeps a hostile reply from recursing the decoder off the stack.
const MAX_DEPTH: usize = 64;

/// The part of every header before its fields: endianness, type, flags, version, body
/// length, serial, and the length of the header-field array.
pub const FIXED_HEADER_LEN: usize = 16;

/// A D-Bus value. Arrays keep their element signature so an empty one still has a type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(String),
    ObjectPath(String),
    Signature(String),
    /// `ay`, the common case of a byte array kept compact. Decoding `ay` always gives this.
    Bytes(Vec<u8>),
    /// An array whose elements all have the signature held here (`"s"`, `"(sv)"`, `"{sv}"`).
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    /// Only valid as the element of an array (`a{..}`).
    DictEntry(Box<Value>, Box<Value>),
    Variant(Box<Value>),
}

impl Value {
    pub fn signature(&self) -> String {
        let mut out = String::new();
        self.push_signature(&mut out);
        out
    }

    fn push_signature(&self, out: &mut String) {
        match self {
            Value::Byte(_) => out.push('y'),
            Value::Bool(_) => out.push('b'),
            Value::I16(_) => out.push('n'),
            Value::U16(_) => out.push('q'),
            Value::I32(_) => out.push('i'),
            Value::U32(_) => out.push('u'),
            Value::I64(_) => out.push('x'),
            Value::U64(_) => out.push('t'),
            Value::Double(_) => out.push('d'),
            Value::Str(_) => out.push('s'),
            Value::ObjectPath(_) => out.push('o'),
            Value::Signature(_) => out.push('g'),
            Value::Bytes(_) => out.push_str("ay"),
            Value::Array(element, _) => {
                out.push('a');
                out.push_str(element);
            }
            Value::Struct(fields) => {
                out.push('(');
                for field in fields {
                    field.push_signature(out);
                }
                out.push(')');
            }
            Value::DictEntry(key, value) => {
                out.push('{');
                key.push_signature(out);
                value.push_signature(out);
                out.push('}');
            }
            Value::Variant(_) => out.push('v'),
        }
    }

    /// The text of a string, object path or signature.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ObjectPath(s) | Value::Signature(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Value::U32(n) => Some(*n),
            _ => None,
        }
    }

    /// The value inside any number of variants.
    pub fn unwrap_variants(&self) -> &Value {
        let mut value = self;
        while let Value::Variant(inner) = value {
            value = inner;
        }
        value
    }
}

/// The alignment of a type, from the first character of its signature.
fn alignment(type_code: u8) -> usize {
    match type_code {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'a' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 1, // y g v
    }
}

/// The length of the first complete type in `signature`, checked.
fn complete_type_len(signature: &[u8], depth: usize) -> Result<usize> {
    if depth > MAX_DEPTH {
        bail!("D-Bus signature nests deeper than {MAX_DEPTH} levels");
    }
    let Some(&code) = signature.first() else {
        bail!("D-Bus signature ends where a type was expected");
    };
    match code {
        b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g'
        | b'v' => Ok(1),
        b'a' => Ok(1 + complete_type_len(&signature[1..], depth + 1)?),
        b'(' => {
            let mut at = 1;
            while signature.get(at) != Some(&b')') {
                if at >= signature.len() {
                    bail!("D-Bus signature has an unclosed '('");
                }
                at += complete_type_len(&signature[at..], depth + 1)?;
            }
            if at == 1 {
                bail!("D-Bus signature has an empty struct '()'");
            }
            Ok(at + 1)
        }
        b'{' => {
            let key = signature.get(1).copied().unwrap_or(0);
            if !b"ybnqiuxtdsog".contains(&key) {
                bail!("D-Bus signature has a dict entry whose key is not a basic type");
            }
            let value_len = complete_type_len(&signature[2..], depth + 1)?;
            if signature.get(2 + value_len) != Some(&b'}') {
                bail!("D-Bus signature has a dict entry that is not '{{key value}}'");
            }
            Ok(3 + value_len)
        }
        other => bail!(
            "D-Bus signature has an unknown type code {:?}",
            other as char
        ),
    }
}

/// Splits a signature into its complete types, refusing a malformed one.
pub fn split_signature(signature: &str) -> Result<Vec<&str>> {
    if signature.len() > MAX_SIGNATURE_LEN {
        bail!("D-Bus signature is longer than {MAX_SIGNATURE_LEN} bytes");
    }
    let bytes = signature.as_bytes();
    let mut types = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        // Dict entries only exist inside arrays, which complete_type_len handles.
        if bytes[at] == b'{' {
            bail!("D-Bus signature {signature:?} has a dict entry outside an array");
        }
        let len = complete_type_len(&bytes[at..], 0)?;
        types.push(&signature[at..at + len]);
        at += len;
    }
    Ok(types)
}

/// Appends marshalled values to a buffer whose offset 0 is 8-aligned in the message
/// (true of the header and of the body alike).
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn pad_to(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn put_u32(&mut self, n: u32) {
        self.pad_to(4);
        self.buf.extend_from_slice(&n.to_le_bytes());
    }

    fn put_string(&mut self, s: &str) -> Result<()> {
        if s.contains('\0') {
            bail!("D-Bus strings cannot hold a NUL byte: {s:?}");
        }
        self.put_u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn put_signature(&mut self, s: &str) -> Result<()> {
        split_signature(s)?;
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    pub fn put(&mut self, value: &Value) -> Result<()> {
        self.put_at_depth(value, 0)
    }

    fn put_at_depth(&mut self, value: &Value, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            bail!("D-Bus value nests deeper than {MAX_DEPTH} levels");
        }
        match value {
            Value::Byte(n) => self.buf.push(*n),
            Value::Bool(b) => self.put_u32(u32::from(*b)),
            Value::I16(n) => {
                self.pad_to(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::U16(n) => {
                self.pad_to(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::I32(n) => {
                self.pad_to(4);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::U32(n) => self.put_u32(*n),
            Value::I64(n) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::U64(n) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Double(n) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Str(s) => self.put_string(s)?,
            Value::ObjectPath(path) => {
                check_object_path(path)?;
                self.put_string(path)?;
            }
            Value::Signature(s) => self.put_signature(s)?,
            Value::Bytes(bytes) => {
                if bytes.len() > MAX_ARRAY_LEN {
                    bail!(
                        "D-Bus array of {} bytes is over the 64 MiB limit",
                        bytes.len()
                    );
                }
                self.put_u32(bytes.len() as u32);
                self.buf.extend_from_slice(bytes);
            }
            Value::Array(element, items) => {
                if complete_type_len(element.as_bytes(), depth + 1)? != element.len() {
                    bail!("D-Bus array element signature {element:?} is not one complete type");
                }
                self.put_u32(0); // the length, filled in below
                let length_at = self.buf.len() - 4;
                // The padding before the first element is not counted in the length, and is
                // there even when the array is empty.
                self.pad_to(alignment(element.as_bytes()[0]));
                let start = self.buf.len();
                for item in items {
                    let found = item.signature();
                    if found != *element {
                        bail!("D-Bus array of {element:?} holds a value of type {found:?}");
                    }
                    self.put_at_depth(item, depth + 1)?;
                }
                let len = self.buf.len() - start;
                if len > MAX_ARRAY_LEN {
                    bail!("D-Bus array of {len} bytes is over the 64 MiB limit");
                }
                self.buf[length_at..length_at + 4].copy_from_slice(&(len as u32).to_le_bytes());
            }
            Value::Struct(fields) => {
                if fields.is_empty() {
                    bail!("D-Bus structs cannot be empty");
                }
                self.pad_to(8);
                for field in fields {
                    self.put_at_depth(field, depth + 1)?;
                }
            }
            Value::DictEntry(key, value) => {
                if !matches!(
                    key.signature().as_str(),
                    "y" | "b" | "n" | "q" | "i" | "u" | "x" | "t" | "d" | "s" | "o" | "g"
                ) {
                    bail!(
                        "D-Bus dict entry keys must be basic types, not {:?}",
                        key.signature()
                    );
                }
                self.pad_to(8);
                self.put_at_depth(key, depth + 1)?;
                self.put_at_depth(value, depth + 1)?;
            }
            Value::Variant(inner) => {
                self.put_signature(&inner.signature())?;
                self.put_at_depth(inner, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// An object path is `/` or `/`-separated non-empty elements of `[A-Za-z0-9_]`.
fn check_object_path(path: &str) -> Result<()> {
    let valid = path == "/"
        || (path.starts_with('/')
            && path[1..].split('/').all(|element| {
                !element.is_empty()
                    && element
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }));
    if !valid {
        bail!("{path:?} is not a valid D-Bus object path");
    }
    Ok(())
}

/// Reads values from a message (offset 0 is the message's first byte, so alignment is
/// counted from there).
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8], big_endian: bool) -> Self {
        Decoder {
            data,
            pos: 0,
            big_endian,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len());
        let Some(end) = end else {
            bail!(
                "D-Bus message is truncated (needs {n} bytes at offset {})",
                self.pos
            );
        };
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn align(&mut self, align: usize) -> Result<()> {
        let padding = (align - self.pos % align) % align;
        self.take(padding).map(|_| ())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.align(N)?;
        let mut bytes: [u8; N] = self.take(N)?.try_into().expect("took N bytes");
        if self.big_endian {
            bytes.reverse();
        }
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }

    fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            bail!("D-Bus string is not NUL-terminated");
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::new("D-Bus string is not UTF-8"))
    }

    fn signature(&mut self) -> Result<String> {
        let len = usize::from(self.take(1)?[0]);
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            bail!("D-Bus signature is not NUL-terminated");
        }
        let signature = String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::new("D-Bus signature is not ASCII"))?;
        split_signature(&signature)?;
        Ok(signature)
    }

    /// Reads one value of the complete type `signature`.
    pub fn read(&mut self, signature: &str) -> Result<Value> {
        if split_signature(signature)?.len() != 1 {
            bail!("D-Bus signature {signature:?} is not one complete type");
        }
        self.read_at_depth(signature.as_bytes(), 0)
    }

    /// Reads one value of each complete type in `signature`.
    pub fn read_all(&mut self, signature: &str) -> Result<Vec<Value>> {
        split_signature(signature)?
            .into_iter()
            .map(|single| self.read_at_depth(single.as_bytes(), 0))
            .collect()
    }

    fn read_at_depth(&mut self, signature: &[u8], depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            bail!("D-Bus value nests deeper than {MAX_DEPTH} levels");
        }
        let value = match signature[0] {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => bail!("D-Bus boolean holds {other}, not 0 or 1"),
            },
            b'n' => Value::I16(i16::from_le_bytes(self.fixed()?)),
            b'q' => Value::U16(u16::from_le_bytes(self.fixed()?)),
            b'i' => Value::I32(i32::from_le_bytes(self.fixed()?)),
            b'u' => Value::U32(self.u32()?),
            b'x' => Value::I64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::U64(u64::from_le_bytes(self.fixed()?)),
            b'd' => Value::Double(f64::from_le_bytes(self.fixed()?)),
            b's' => Value::Str(self.string()?),
            b'o' => {
                let path = self.string()?;
                check_object_path(&path)?;
                Value::ObjectPath(path)
            }
            b'g' => Value::Signature(self.signature()?),
            b'v' => {
                let inner = self.signature()?;
                if split_signature(&inner)?.len() != 1 {
                    bail!("D-Bus variant signature {inner:?} is not one complete type");
                }
                Value::Variant(Box::new(self.read_at_depth(inner.as_bytes(), depth + 1)?))
            }
            b'a' => {
                let element = &signature[1..1 + complete_type_len(&signature[1..], depth + 1)?];
                let len = self.u32()? as usize;
                if len > MAX_ARRAY_LEN {
                    bail!("D-Bus array of {len} bytes is over the 64 MiB limit");
                }
                self.align(alignment(element[0]))?;
                if element == b"y" {
                    return Ok(Value::Bytes(self.take(len)?.to_vec()));
                }
                let end = self.pos + len;
                if end > self.data.len() {
                    bail!("D-Bus array runs past the end of the message");
                }
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.read_at_depth(element, depth + 1)?);
                }
                if self.pos != end {
                    bail!("D-Bus array's last element runs past the array's length");
                }
                let element = String::from_utf8(element.to_vec()).expect("checked ASCII");
                Value::Array(element, items)
            }
            b'(' => {
                self.align(8)?;
                let mut fields = Vec::new();
                let mut at = 1;
                while signature[at] != b')' {
                    let len = complete_type_len(&signature[at..], depth + 1)?;
                    fields.push(self.read_at_depth(&signature[at..at + len], depth + 1)?);
                    at += len;
                }
                Value::Struct(fields)
            }
            b'{' => {
                self.align(8)?;
                let key = self.read_at_depth(&signature[1..2], depth + 1)?;
                let value_len = complete_type_len(&signature[2..], depth + 1)?;
                let value = self.read_at_depth(&signature[2..2 + value_len], depth + 1)?;
                Value::DictEntry(Box::new(key), Box::new(value))
            }
            other => bail!("D-Bus type code {:?} is not supported", other as char),
        };
        Ok(value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    MethodCall = 1,
    MethodReturn = 2,
    Error = 3,
    Signal = 4,
}

/// Header field codes.
const FIELD_PATH: u8 = 1;
const FIELD_INTERFACE: u8 = 2;
const FIELD_MEMBER: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_DESTINATION: u8 = 6;
const FIELD_SENDER: u8 = 7;
const FIELD_SIGNATURE: u8 = 8;
const FIELD_UNIX_FDS: u8 = 9;

/// One message: the header fields that exist, and the body's values (the signature is
/// derived from them).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub message_type: MessageType,
    pub flags: u8,
    /// Set by the connection when it sends the message.
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    pub fn method_call(destination: &str, path: &str, interface: &str, member: &str) -> Self {
        Message {
            message_type: MessageType::MethodCall,
            flags: 0,
            serial: 0,
            path: Some(path.to_string()),
            interface: Some(interface.to_string()),
            member: Some(member.to_string()),
            error_name: None,
            reply_serial: None,
            destination: Some(destination.to_string()),
            sender: None,
            body: Vec::new(),
        }
    }

    pub fn signal(path: &str, interface: &str, member: &str) -> Self {
        Message {
            message_type: MessageType::Signal,
            destination: None,
            ..Message::method_call("", path, interface, member)
        }
    }

    /// The METHOD_RETURN to `call`, addressed to its sender.
    pub fn method_return(call: &Message) -> Self {
        Message {
            message_type: MessageType::MethodReturn,
            flags: 0,
            serial: 0,
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: Some(call.serial),
            destination: call.sender.clone(),
            sender: None,
            body: Vec::new(),
        }
    }

    /// The ERROR reply `name` to `call`, with a human-readable `text`.
    pub fn error_reply(call: &Message, name: &str, text: &str) -> Self {
        Message {
            message_type: MessageType::Error,
            error_name: Some(name.to_string()),
            body: vec![Value::Str(text.to_string())],
            ..Message::method_return(call)
        }
    }

    pub fn with_body(mut self, body: Vec<Value>) -> Self {
        self.body = body;
        self
    }

    pub fn body_signature(&self) -> String {
        self.body.iter().map(Value::signature).collect()
    }

    /// `interface.member`, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "{}.{}",
            self.interface.as_deref().unwrap_or("?"),
            self.member.as_deref().unwrap_or("?")
        )
    }

    /// The marshalled message, little-endian.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.serial == 0 {
            bail!("D-Bus messages need a non-zero serial");
        }
        let mut body = Encoder::new();
        for value in &self.body {
            body.put(value)?;
        }
        let body = body.into_bytes();
        let signature = self.body_signature();

        let string_field = |code, value: &Option<String>| {
            value
                .as_ref()
                .map(|s| (code, Value::Variant(Box::new(Value::Str(s.clone())))))
        };
        let fields: Vec<(u8, Value)> = [
            self.path.as_ref().map(|p| {
                (
                    FIELD_PATH,
                    Value::Variant(Box::new(Value::ObjectPath(p.clone()))),
                )
            }),
            string_field(FIELD_INTERFACE, &self.interface),
            string_field(FIELD_MEMBER, &self.member),
            string_field(FIELD_ERROR_NAME, &self.error_name),
            self.reply_serial
                .map(|n| (FIELD_REPLY_SERIAL, Value::Variant(Box::new(Value::U32(n))))),
            string_field(FIELD_DESTINATION, &self.destination),
            string_field(FIELD_SENDER, &self.sender),
            (!signature.is_empty()).then(|| {
                (
                    FIELD_SIGNATURE,
                    Value::Variant(Box::new(Value::Signature(signature.clone()))),
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();

        let mut header = Encoder::new();
        header
            .buf
            .extend_from_slice(&[b'l', self.message_type as u8, self.flags, 1]);
        header.put_u32(body.len() as u32);
        header.put_u32(self.serial);
        header.put(&Value::Array(
            "(yv)".to_string(),
            fields
                .into_iter()
                .map(|(code, value)| Value::Struct(vec![Value::Byte(code), value]))
                .collect(),
        ))?;
        // The body starts 8-aligned.
        header.pad_to(8);
        let mut message = header.into_bytes();
        message.extend_from_slice(&body);
        if message.len() > MAX_MESSAGE_LEN {
            bail!(
                "D-Bus message of {} bytes is over the 128 MiB limit",
                message.len()
            );
        }
        Ok(message)
    }

    /// Parses one whole message (as long as [`message_length`] says).
    pub fn decode(data: &[u8]) -> Result<Message> {
        let total = message_length(data)?;
        if data.len() != total {
            bail!(
                "D-Bus message is {} bytes, its header says {total}",
                data.len()
            );
        }
        let big_endian = data[0] == b'B';
        let message_type = match data[1] {
            1 => MessageType::MethodCall,
            2 => MessageType::MethodReturn,
            3 => MessageType::Error,
            4 => MessageType::Signal,
            other => bail!("D-Bus message has unknown type {other}"),
        };
        let mut decoder = Decoder::new(data, big_endian);
        decoder.pos = 4;
        let body_len = decoder.u32()? as usize;
        let serial = decoder.u32()?;
        if serial == 0 {
            bail!("D-Bus message has serial 0");
        }
        let Value::Array(_, fields) = decoder.read("a(yv)")? else {
            unreachable!("a(yv) decodes to an array");
        };
        decoder.align(8)?;
        let body_start = decoder.pos;

        let mut message = Message {
            message_type,
            flags: data[2],
            serial,
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: None,
            destination: None,
            sender: None,
            body: Vec::new(),
        };
        let mut signature = String::new();
        for field in fields {
            let Value::Struct(pair) = field else {
                unreachable!("(yv) decodes to a struct")
            };
            let (Value::Byte(code), value) = (&pair[0], pair[1].unwrap_variants()) else {
                unreachable!("(yv) decodes to a byte and a variant")
            };
            let text = || {
                value.as_str().map(str::to_string).ok_or_else(|| {
                    Error::new(format!("D-Bus header field {code} has the wrong type"))
                })
            };
            match *code {
                FIELD_PATH => message.path = Some(text()?),
                FIELD_INTERFACE => message.interface = Some(text()?),
                FIELD_MEMBER => message.member = Some(text()?),
                FIELD_ERROR_NAME => message.error_name = Some(text()?),
                FIELD_DESTINATION => message.destination = Some(text()?),
                FIELD_SENDER => message.sender = Some(text()?),
                FIELD_SIGNATURE => signature = text()?,
                FIELD_REPLY_SERIAL => {
                    message.reply_serial = Some(value.as_u32().ok_or_else(|| {
                        Error::new("D-Bus reply serial header field is not a u32")
                    })?)
                }
                FIELD_UNIX_FDS if value.as_u32() != Some(0) => {
                    bail!("D-Bus message carries unix fds, which this client never asks for");
                }
                _ => {} // the spec says to ignore unknown fields
            }
        }
        let missing = match message_type {
            MessageType::MethodCall if message.path.is_none() || message.member.is_none() => {
                Some("path or member")
            }
            MessageType::Signal
                if message.path.is_none()
                    || message.interface.is_none()
                    || message.member.is_none() =>
            {
                Some("path, interface or member")
            }
            MessageType::MethodReturn if message.reply_serial.is_none() => Some("reply serial"),
            MessageType::Error
                if message.reply_serial.is_none() || message.error_name.is_none() =>
            {
                Some("reply serial or error name")
            }
            _ => None,
        };
        if let Some(missing) = missing {
            bail!("D-Bus {message_type:?} message has no {missing} header field");
        }

        let mut body = Decoder {
            data: &data[..body_start + body_len],
            pos: body_start,
            big_endian,
        };
        message.body = body.read_all(&signature)?;
        if body.pos != body.data.len() {
            bail!("D-Bus message body is longer than its signature {signature:?} says");
        }
        Ok(message)
    }
}

/// The whole length of the message that starts with `fixed_header` (at least
/// [`FIXED_HEADER_LEN`] bytes): what to read from the socket.
pub fn message_length(fixed_header: &[u8]) -> Result<usize> {
    if fixed_header.len() < FIXED_HEADER_LEN {
        bail!("D-Bus message is shorter than its {FIXED_HEADER_LEN}-byte fixed header");
    }
    let big_endian = match fixed_header[0] {
        b'l' => false,
        b'B' => true,
        other => bail!(
            "D-Bus message has an unknown byte order {:?}",
            other as char
        ),
    };
    if fixed_header[3] != 1 {
        bail!(
            "D-Bus message has protocol version {}, not 1",
            fixed_header[3]
        );
    }
    let word = |at: usize| {
        let bytes: [u8; 4] = fixed_header[at..at + 4].try_into().expect("4 bytes");
        if big_endian {
            u32::from_be_bytes(bytes) as usize
        } else {
            u32::from_le_bytes(bytes) as usize
        }
    };
    let fields_len = word(12);
    let body_len = word(4);
    if fields_len > MAX_ARRAY_LEN || body_len > MAX_MESSAGE_LEN {
        bail!("D-Bus message is over the 128 MiB limit");
    }
    let header_len = (FIXED_HEADER_LEN + fields_len).next_multiple_of(8);
    let total = header_len + body_len;
    if total > MAX_MESSAGE_LEN {
        bail!("D-Bus message of {total} bytes is over the 128 MiB limit");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> Vec<u8> {
        let mut encoder = Encoder::new();
        encoder.put(value).unwrap();
        encoder.into_bytes()
    }

    fn round_trip(values: &[Value]) {
        let mut encoder = Encoder::new();
        for value in values {
            encoder.put(value).unwrap();
        }
        let bytes = encoder.into_bytes();
        let signature: String = values.iter().map(Value::signature).collect();
        let mut decoder = Decoder::new(&bytes, false);
        assert_eq!(decoder.read_all(&signature).unwrap(), values, "{signature}");
        assert_eq!(decoder.pos, bytes.len(), "{signature}: bytes left over");
    }

    /// `Str`'s marshalled form: length, bytes, NUL.
    fn string_bytes(s: &str) -> Vec<u8> {
        let mut out = (s.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(s.as_bytes());
        out.push(0);
        out
    }

    #[test]
    fn basic_types_have_their_sizes_and_alignment() {
        // Each value after a byte, so the padding before it shows its alignment.
        let cases: [(Value, &[u8]); 11] = [
            (Value::Byte(7), &[7]),
            (Value::Bool(true), &[0, 0, 0, 1, 0, 0, 0]),
            (Value::I16(-2), &[0, 0xfe, 0xff]),
            (Value::U16(0x0102), &[0, 2, 1]),
            (Value::I32(-1), &[0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            (Value::U32(0x01020304), &[0, 0, 0, 4, 3, 2, 1]),
            (
                Value::I64(-2),
                &[
                    0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            ),
            (
                Value::U64(1),
                &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            ),
            (
                Value::Double(1.0),
                &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
            ),
            (
                Value::Str("hi".into()),
                &[0, 0, 0, 2, 0, 0, 0, b'h', b'i', 0],
            ),
            (Value::Signature("as".into()), &[2, b'a', b's', 0]),
        ];
        for (value, after_the_byte) in cases {
            let bytes = encode(&Value::Struct(vec![Value::Byte(0xaa), value.clone()]));
            assert_eq!(bytes[0], 0xaa);
            assert_eq!(&bytes[1..], after_the_byte, "{value:?}");
            round_trip(&[Value::Byte(0xaa), value]);
        }
    }

    #[test]
    fn a_dict_of_variants_has_the_spec_layout() {
        let dict = Value::Array(
            "{sv}".into(),
            vec![Value::DictEntry(
                Box::new(Value::Str("a".into())),
                Box::new(Value::Variant(Box::new(Value::U32(7)))),
            )],
        );
        assert_eq!(dict.signature(), "a{sv}");
        #[rustfmt::skip]
        let expected = [
            16, 0, 0, 0,      // array length: from the first entry, not counting padding
            0, 0, 0, 0,       // padding to the entry's 8-byte alignment
            1, 0, 0, 0, b'a', 0, // key "a"
            1, b'u', 0,       // variant signature "u"
            0, 0, 0,          // padding to 4
            7, 0, 0, 0,       // 7
        ];
        assert_eq!(encode(&dict), expected);
        round_trip(&[dict]);
    }

    #[test]
    fn an_empty_array_still_pads_to_its_element_alignment() {
        let empty = Value::Array("t".into(), Vec::new());
        assert_eq!(encode(&empty), [0, 0, 0, 0, 0, 0, 0, 0]);
        // After a byte: padding to 4 for the length, then to 8 for the (absent) elements.
        let bytes = encode(&Value::Struct(vec![Value::Byte(1), empty.clone()]));
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 0]);
        round_trip(&[Value::Byte(1), empty, Value::Byte(2)]);
    }

    #[test]
    fn bytes_are_a_compact_ay() {
        assert_eq!(Value::Bytes(vec![1, 2]).signature(), "ay");
        assert_eq!(encode(&Value::Bytes(vec![1, 2])), [2, 0, 0, 0, 1, 2]);
        // An array of Byte values marshals the same and decodes as Bytes.
        let as_array = Value::Array("y".into(), vec![Value::Byte(1), Value::Byte(2)]);
        assert_eq!(encode(&as_array), [2, 0, 0, 0, 1, 2]);
        round_trip(&[
            Value::Bytes(vec![]),
            Value::Bytes(vec![9; 5]),
            Value::U32(1),
        ]);
    }

    #[test]
    fn nested_values_round_trip() {
        let properties = Value::Array(
            "(sv)".into(),
            vec![
                Value::Struct(vec![
                    Value::Str("PIDs".into()),
                    Value::Variant(Box::new(Value::Array("u".into(), vec![Value::U32(42)]))),
                ]),
                Value::Struct(vec![
                    Value::Str("AllowedCPUs".into()),
                    Value::Variant(Box::new(Value::Bytes(vec![0x17]))),
                ]),
                Value::Struct(vec![
                    Value::Str("Nested".into()),
                    Value::Variant(Box::new(Value::Variant(Box::new(Value::Struct(vec![
                        Value::I16(-3),
                        Value::ObjectPath("/a/b_c".into()),
                        Value::Double(0.5),
                    ]))))),
                ]),
            ],
        );
        let auxiliary = Value::Array(
            "(sa(sv))".into(),
            vec![Value::Struct(vec![
                Value::Str("aux.service".into()),
                Value::Array("(sv)".into(), Vec::new()),
            ])],
        );
        let dict = Value::Array(
            "{oas}".into(),
            vec![Value::DictEntry(
                Box::new(Value::ObjectPath("/".into())),
                Box::new(Value::Array("s".into(), vec![Value::Str("x".into())])),
            )],
        );
        let values = [
            Value::Str("unit.scope".into()),
            Value::Bool(false),
            properties,
            auxiliary,
            dict,
            Value::I64(i64::MIN),
        ];
        let signature: String = values.iter().map(Value::signature).collect();
        assert_eq!(signature, "sba(sv)a(sa(sv))a{oas}x");
        round_trip(&values);
    }

    #[test]
    fn signatures_are_split_and_checked() {
        assert_eq!(
            split_signature("sa{sv}(ia(ss))v").unwrap(),
            ["s", "a{sv}", "(ia(ss))", "v"]
        );
        assert!(split_signature("").unwrap().is_empty());
        for (bad, why) in [
            ("a", "ends where a type was expected"),
            ("(s", "unclosed"),
            ("()", "empty struct"),
            ("{sv}", "outside an array"),
            ("a{vs}", "not a basic type"),
            ("a{sss}", "not '{key value}'"),
            ("h", "unknown type code 'h'"),
            ("z", "unknown type code 'z'"),
        ] {
            let error = split_signature(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
        let too_deep = format!("{}s", "a".repeat(70));
        assert!(split_signature(&too_deep)
            .unwrap_err()
            .to_string()
            .contains("deeper"));
    }

    #[test]
    fn mistyped_values_are_refused_when_encoding() {
        let mut encoder = Encoder::new();
        let mixed = Value::Array("s".into(), vec![Value::U32(1)]);
        let error = encoder.put(&mixed).unwrap_err().to_string();
        assert!(
            error.contains("array of \"s\" holds a value of type \"u\""),
            "{error}"
        );
        let error = encoder
            .put(&Value::ObjectPath("not/a/path".into()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a valid D-Bus object path"), "{error}");
        assert!(encoder.put(&Value::ObjectPath("/a//b".into())).is_err());
        assert!(encoder.put(&Value::ObjectPath("/a/".into())).is_err());
        assert!(encoder.put(&Value::Str("nul\0inside".into())).is_err());
        assert!(encoder.put(&Value::Struct(Vec::new())).is_err());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let decode = |bytes: &[u8], signature: &str| {
            Decoder::new(bytes, false)
                .read_all(signature)
                .unwrap_err()
                .to_string()
        };
        assert!(decode(&[5, 0, 0, 0, b'a'], "s").contains("truncated"));
        assert!(decode(&[1, 0, 0, 0, b'a', b'b'], "s").contains("not NUL-terminated"));
        assert!(decode(&[2, 0, 0, 0], "b").contains("not 0 or 1"));
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], "as").contains("64 MiB"));
        assert!(decode(&[8, 0, 0, 0, 1, 0, 0, 0], "au").contains("past the end"));
        // An array whose last element runs past the array's own length.
        assert!(decode(&[2, 0, 0, 0, 1, 0, 0, 0], "au").contains("past the array's length"));
        assert!(decode(&[2, b'i', b'i', 0], "v").contains("not one complete type"));
        assert!(decode(&[1, 0, 0, 0, 0xff, 0], "s").contains("not UTF-8"));
        assert!(decode(&[2, 0, 0, 0, b'a', b'b', 0], "o").contains("object path"));
        // Variants nested past the depth limit.
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[1, b'v', 0]);
        }
        assert!(decode(&deep, "v").contains("deeper than"));
    }

    /// org.freedesktop.DBus.Hello, serial 1, marshalled by hand from the spec's rules.
    fn hello_by_hand() -> Vec<u8> {
        let mut bytes = vec![
            b'l', 1, 0, 1, // little-endian, METHOD_CALL, no flags, version 1
            0, 0, 0, 0, // body length
            1, 0, 0, 0, // serial
            109, 0, 0, 0, // length of the header-field array (bytes 16..125)
        ];
        let mut field = |code: u8, type_code: u8, text: &str| {
            while !bytes.len().is_multiple_of(8) {
                bytes.push(0); // each (yv) struct is 8-aligned
            }
            bytes.extend_from_slice(&[code, 1, type_code, 0]);
            bytes.extend_from_slice(&string_bytes(text));
        };
        field(1, b'o', "/org/freedesktop/DBus"); // 16..46
        field(2, b's', "org.freedesktop.DBus"); // 48..77
        field(3, b's', "Hello"); // 80..94
        field(6, b's', "org.freedesktop.DBus"); // 96..125
        bytes.extend_from_slice(&[0, 0, 0]); // the body starts 8-aligned
        bytes
    }

    #[test]
    fn a_method_call_header_matches_the_spec_byte_for_byte() {
        let mut hello = Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
        );
        hello.serial = 1;
        let expected = hello_by_hand();
        assert_eq!(expected.len(), 128);
        assert_eq!(hello.encode().unwrap(), expected);
        assert_eq!(message_length(&expected).unwrap(), 128);
        assert_eq!(Message::decode(&expected).unwrap(), hello);
    }

    #[test]
    fn a_body_gets_its_signature_field_and_length() {
        let mut call = Message::method_call("d", "/p", "i.f", "M")
            .with_body(vec![Value::Str("ab".into()), Value::U64(5)]);
        call.serial = 7;
        let bytes = call.encode().unwrap();
        // Header fields: path 16..27, interface 32..43, member 48..58, destination 64..74,
        // signature 80..87 ("st"), padded to 88; body: "ab" 88..95, pad, u64 96..104.
        assert_eq!(&bytes[4..8], &16u32.to_le_bytes());
        assert_eq!(&bytes[80..88], &[8, 1, b'g', 0, 2, b's', b't', 0]);
        assert_eq!(&bytes[88..95], &string_bytes("ab")[..]);
        assert_eq!(&bytes[96..104], &5u64.to_le_bytes());
        assert_eq!(bytes.len(), 104);
        assert_eq!(Message::decode(&bytes).unwrap(), call);
    }

    #[test]
    fn a_big_endian_reply_is_read() {
        #[rustfmt::skip]
        let bytes = [
            b'B', 2, 0, 1,  // big-endian METHOD_RETURN
            0, 0, 0, 4,     // body length
            0, 0, 0, 7,     // serial
            0, 0, 0, 15,    // header fields: 16..31
            5, 1, b'u', 0, 0, 0, 0, 3,  // REPLY_SERIAL 3
            8, 1, b'g', 0, 1, b'u', 0,  // SIGNATURE "u"
            0,              // pad to 32
            0, 0, 0, 42,    // the body: u32 42
        ];
        let reply = Message::decode(&bytes).unwrap();
        assert_eq!(reply.message_type, MessageType::MethodReturn);
        assert_eq!(reply.serial, 7);
        assert_eq!(reply.reply_serial, Some(3));
        assert_eq!(reply.body, [Value::U32(42)]);
    }

    #[test]
    fn messages_missing_required_fields_or_mislabelled_are_refused() {
        let mut reply = Message::method_call("d", "/p", "i.f", "M");
        reply.message_type = MessageType::MethodReturn;
        reply.serial = 1;
        let error = Message::decode(&reply.encode().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no reply serial"), "{error}");

        let mut hello = hello_by_hand();
        hello[0] = b'X';
        assert!(message_length(&hello)
            .unwrap_err()
            .to_string()
            .contains("byte order"));
        let mut hello = hello_by_hand();
        hello[3] = 2;
        assert!(message_length(&hello)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        let hello = hello_by_hand();
        assert!(Message::decode(&hello[..100])
            .unwrap_err()
            .to_string()
            .contains("its header says 128"));
        let mut zero_serial = hello_by_hand();
        zero_serial[8] = 0;
        assert!(Message::decode(&zero_serial)
            .unwrap_err()
            .to_string()
            .contains("serial 0"));
        let huge = [
            b'l', 1, 0, 1, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(message_length(&huge)
            .unwrap_err()
            .to_string()
            .contains("128 MiB"));
    }

    #[test]
    fn replies_and_signals_are_addressed_as_the_spec_requires() {
        let mut call = Message::method_call("d", "/p", "i.f", "M");
        call.serial = 5;
        call.sender = Some(":1.7".into());
        let mut error = Message::error_reply(&call, "org.example.Error.No", "because");
        assert_eq!(error.reply_serial, Some(5));
        assert_eq!(error.destination.as_deref(), Some(":1.7"));
        assert_eq!(error.body, [Value::Str("because".into())]);
        error.serial = 1;
        assert_eq!(Message::decode(&error.encode().unwrap()).unwrap(), error);
        let mut signal = Message::signal("/p", "i.f", "Changed");
        assert_eq!(signal.destination, None);
        signal.serial = 2;
        assert_eq!(Message::decode(&signal.encode().unwrap()).unwrap(), signal);
    }
}
