//! How `kv scan` prints keys and values that may hold any bytes, and how `kv load --escaped`
//! reads them back.
//!
//! Valid UTF-8 text passes through, except: backslash becomes `\\`; tab, newline and carriage
//! return become `\t`, `\n`, `\r`; every other control character and every byte that is not
//! part of valid UTF-8 becomes `\xNN` (two lowercase hex digits per byte). So one entry is
//! always one line and the TAB between key and value is always the separator.

/// Appends the escaped form of `bytes` to `out`.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        push_hex(b, out);
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            push_hex(b, out);
        }
    }
}

fn push_hex(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}

/// The escaped form of `bytes` as a string.
#[cfg(test)]
pub fn escape(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    escape_into(bytes, &mut out);
    String::from_utf8(out).expect("escaped output is UTF-8")
}

/// Reverses [`escape_into`]. `Err((offset, reason))` names the byte offset of a bad escape.
pub fn unescape(s: &[u8]) -> Result<Vec<u8>, (usize, String)> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let Some(&c) = s.get(i + 1) else {
            return Err((
                i,
                "backslash at the end (write \\\\ for a backslash)".into(),
            ));
        };
        match c {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => return Err((i, "\\x must be followed by two hex digits".into())),
                }
                i += 4;
                continue;
            }
            other => {
                return Err((
                    i,
                    format!(
                        "unknown escape \\{} (known: \\\\ \\t \\n \\r \\xNN)",
                        other as char
                    ),
                ))
            }
        }
        i += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_passes_through() {
        assert_eq!(escape(b"hello world"), "hello world");
        assert_eq!(escape("prix €5".as_bytes()), "prix €5");
    }

    #[test]
    fn separators_and_binary_are_escaped() {
        assert_eq!(escape(b"a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
        assert_eq!(escape(&[0, 0x7f, 0xff, b'z']), "\\x00\\x7f\\xffz");
        // U+0085 (NEL) is a control character: its two UTF-8 bytes are escaped.
        assert_eq!(escape("\u{85}".as_bytes()), "\\xc2\\x85");
    }

    #[test]
    fn unescape_reverses_escape() {
        let samples: [&[u8]; 5] = [
            b"",
            b"plain",
            b"a\tb\nc\\d",
            &[0, 1, 2, 0x80, 0xfe, 0xff],
            "ünïcödé\u{85}".as_bytes(),
        ];
        for s in samples {
            assert_eq!(unescape(escape(s).as_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn bad_escapes_name_the_offset() {
        assert_eq!(unescape(b"ab\\").unwrap_err().0, 2);
        assert_eq!(unescape(b"a\\xZZ").unwrap_err().0, 1);
        assert_eq!(unescape(b"\\q").unwrap_err().0, 0);
    }
}
