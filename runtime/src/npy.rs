//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! This module works on plain `(shape, fortran_order, Vec<T>)` data rather
//! than on `Array<T>`, so the file format and the array type evolve
//! independently; `Array::read_npy` / `write_npy` are thin wrappers over
//! [`read`] and [`write()`].
//!
//! A `.npy` stream is the magic `\x93NUMPY`, two version bytes, the header
//! length (`u16` little-endian in 1.0, `u32` in 2.0 and 3.0), a header that is
//! a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` (latin-1 in
//! 1.0/2.0, UTF-8 in 3.0), and then the elements in memory order.
//!
//! Decisions, and why:
//!
//! * **Reading is as lenient as NumPy's `np.load`** about what other writers
//!   emit: keys in any order, any whitespace, trailing commas, single or
//!   double quotes, Python 2's `3L` integers, and any header padding (NumPy
//!   ≥ 1.x pads to 64 bytes, older versions to 16, other libraries to
//!   whatever they like — alignment only matters for memory mapping, which we
//!   do not do). The byte-order marks `=` and `|` mean native, as in NumPy;
//!   big-endian data is byte-swapped.
//! * **It is strict where NumPy is strict** (exactly the three keys, `shape`
//!   a tuple of integers, `fortran_order` a bool) and additionally rejects a
//!   key given twice, which Python would silently resolve to the last one.
//! * **Bytes after the data are ignored, and never read.** NumPy ignores them
//!   too, and stopping exactly at the end of the data lets a caller read
//!   several arrays appended to one stream (the `np.save(f, a); np.save(f, b)`
//!   idiom) by passing `&mut reader` repeatedly.
//! * **A hostile header cannot cause a huge allocation**: the header and the
//!   data are read in bounded chunks, so memory grows only with bytes that
//!   are really there, and a short file is an error before it is an array.
//!   Nesting in the header is bounded, so it cannot overflow the stack.
//! * **Writing reproduces NumPy byte for byte** (NumPy 2.x's `np.save` of a
//!   contiguous array): little-endian descr, keys sorted, the spare spaces
//!   NumPy leaves for growing the shape in place, data aligned to 64 bytes,
//!   and version 1.0 unless the header is too long for its `u16` length
//!   field, then 2.0 (the header is ASCII, so 3.0 is never needed). Only a
//!   shape of some 20 000 dimensions needs 2.0; NumPy parses such a header
//!   but, limited to 64 dimensions, cannot build the array.

use std::io::{Read, Write};

use crate::{DType, Element, Error};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Where the data section starts on write: a multiple of 64, as NumPy does.
const ALIGN: usize = 64;
/// Data is moved through a buffer of this many bytes; a multiple of every
/// element size, so a chunk never splits an element.
const CHUNK_BYTES: usize = 1 << 16;
/// NumPy pads the header so that the growth axis (first for C order, last
/// for F order) can be rewritten in place with up to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Deeper nesting than this in a header is not a dtype anyone writes; the
/// bound keeps the recursive parser from overflowing the stack.
const MAX_NESTING: usize = 64;
/// How much of a malformed header an error message quotes.
const EXCERPT_CHARS: usize = 120;
/// The longest header [`read_header`] accepts, in bytes (1 MiB). It bounds
/// the memory and time a hostile header costs before anything is checked:
/// the length field alone may claim 4 GiB. NumPy's `np.load` stops at
/// 10 000 bytes by default (`max_header_size`), because its header parser,
/// Python's `literal_eval`, is slow and deep on hostile input; einkern's
/// parser is linear and its nesting is bounded, so the bound can be large
/// enough for every header a writer really emits: NumPy's own structured
/// dtypes (the 66 KB header of `structured_v2.npy`, which einkern reports
/// as an unsupported dtype) and the version-2.0 headers einkern writes for
/// shapes of up to some 300 000 axes.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// What a `.npy` header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The element type of the data section.
    pub dtype: DType,
    /// Whether the elements are stored big-endian (`>` in the descr).
    pub big_endian: bool,
    /// Whether the data is in Fortran (column-major) order rather than C order.
    pub fortran_order: bool,
    /// The array's shape; `[]` for a 0-d array.
    pub shape: Vec<usize>,
}

/// Reads a whole `.npy` stream whose element type is `T`.
///
/// Returns `(shape, fortran_order, data)` with `data` in the file's memory
/// order: C order if `fortran_order` is false, F order otherwise. Stops right
/// after the data section, so pass `&mut reader` to read several arrays from
/// one stream.
///
/// # Errors
/// [`Error::Type`] if the file holds another element type (naming both) or
/// one einkern does not support, [`Error::Format`] if the stream is not a
/// well-formed `.npy` file or ends early, [`Error::Io`] if reading fails.
pub fn read<T: Element>(mut r: impl Read) -> Result<(Vec<usize>, bool, Vec<T>), Error> {
    let header = read_header(&mut r)?;
    let data = read_data(&mut r, &header)?;
    Ok((header.shape, header.fortran_order, data))
}

/// Reads the magic, version and header of a `.npy` stream, leaving `r` at the
/// first byte of the data.
///
/// Separate from [`read`] so that a caller who does not know the element type
/// in advance (the command line) can look at [`NpyHeader::dtype`] and then
/// call [`read_data`] with the matching `T`.
///
/// # Errors
/// As [`read`].
pub fn read_header(r: &mut impl Read) -> Result<NpyHeader, Error> {
    let mut prefix = [0u8; 8];
    let got = read_full(r, &mut prefix)?;
    if got > 0 && got < MAGIC.len() && prefix[..got] == MAGIC[..got] {
        return Err(truncated("inside the magic string"));
    }
    if got < MAGIC.len() || prefix[..MAGIC.len()] != MAGIC[..] {
        return Err(Error::format(if got == 0 {
            "not a .npy file: the stream is empty".to_string()
        } else {
            format!(
                "not a .npy file: it starts with {}, not the magic \\x93NUMPY",
                escape_bytes(&prefix[..got.min(MAGIC.len())])
            )
        }));
    }
    if got < prefix.len() {
        return Err(truncated("inside the format version"));
    }
    let (length_bytes, utf8) = match (prefix[6], prefix[7]) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        (major, minor) => {
            return Err(Error::format(format!(
                "unsupported .npy format version {major}.{minor} (einkern reads 1.0, 2.0 and 3.0)"
            )))
        }
    };
    let mut length = [0u8; 4];
    if read_full(r, &mut length[..length_bytes])? < length_bytes {
        return Err(truncated("inside the header length"));
    }
    let header_len = u32::from_le_bytes(length);
    if header_len as usize > MAX_HEADER_BYTES {
        return Err(Error::format(format!(
            "the .npy header is {header_len} bytes long, more than the {MAX_HEADER_BYTES} \
             bytes einkern reads (see npy::MAX_HEADER_BYTES)"
        )));
    }
    // `take` + `read_to_end` grows the buffer with the bytes actually read, so
    // a length field larger than the file costs only the bytes there.
    let mut raw = Vec::new();
    r.take(u64::from(header_len)).read_to_end(&mut raw)?;
    if raw.len() < header_len as usize {
        return Err(truncated(&format!(
            "inside the header ({header_len} bytes announced, {} present)",
            raw.len()
        )));
    }
    let text = if utf8 {
        String::from_utf8(raw)
            .map_err(|_| Error::format("malformed .npy header: version 3.0 header is not UTF-8"))?
    } else {
        // Versions 1.0 and 2.0 are latin-1, whose bytes are the first 256 chars.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    parse_header(&text)
}

/// Reads the data section described by `header` (as returned by
/// [`read_header`] on the same stream) as elements of type `T`, in the file's
/// memory order, converted to native byte order.
///
/// # Errors
/// [`Error::Type`] if `header.dtype` is not `T`, [`Error::Format`] if the
/// shape's byte size overflows or the stream ends before the data does,
/// [`Error::Io`] if reading fails.
pub fn read_data<T: Element>(r: impl Read, header: &NpyHeader) -> Result<Vec<T>, Error> {
    if header.dtype != T::DTYPE {
        return Err(Error::type_(format!(
            "file holds {}, expected {}",
            header.dtype,
            T::DTYPE
        )));
    }
    let size = T::DTYPE.size();
    let (count, _) = sizes(&header.shape, size).map_err(Error::format)?;
    // Capacity grows with what was read, never with what the header claims,
    // and a refused allocation is an error, not an abort.
    let mut data: Vec<T> = Vec::new();
    read_chunks(r, header, count, |elements| {
        data.try_reserve(elements.len()).map_err(|e| {
            Error::alloc(format!(
                "cannot hold the data of shape {} of {}: {e}",
                shape_repr(&header.shape),
                T::DTYPE
            ))
        })?;
        data.extend_from_slice(elements);
        Ok(())
    })?;
    Ok(data)
}

/// [`read_data`] into `out`, which must hold exactly the shape's element
/// count: for a caller that knows the data is there (the file is long
/// enough) and so may allocate the whole array before reading it. On an
/// error, `out` is partly written.
///
/// # Errors
/// As [`read_data`], and [`Error::Shape`] if `out` has the wrong length.
pub fn read_data_into<T: Element>(
    r: impl Read,
    header: &NpyHeader,
    out: &mut [T],
) -> Result<(), Error> {
    if header.dtype != T::DTYPE {
        return Err(Error::type_(format!(
            "file holds {}, expected {}",
            header.dtype,
            T::DTYPE
        )));
    }
    let (count, _) = sizes(&header.shape, T::DTYPE.size()).map_err(Error::format)?;
    if out.len() != count {
        return Err(Error::shape(format!(
            "shape {} holds {count} elements but the output has {}",
            shape_repr(&header.shape),
            out.len()
        )));
    }
    let mut done = 0;
    read_chunks(r, header, count, |elements| {
        out[done..done + elements.len()].copy_from_slice(elements);
        done += elements.len();
        Ok(())
    })
}

/// The number of data bytes the header announces: the shape's size times
/// its dtype's size, or a format error when that does not fit in `isize`
/// (no array could hold it). Compare it with the file's length before
/// allocating for the data.
pub fn data_bytes(header: &NpyHeader) -> Result<usize, Error> {
    Ok(sizes(&header.shape, header.dtype.size())
        .map_err(Error::format)?
        .1)
}

/// Reads the `count` elements of the data section in chunks of at most
/// [`CHUNK_BYTES`], converted to native byte order, handing each chunk to
/// `sink`: memory grows only with bytes really read.
fn read_chunks<T: Element>(
    mut r: impl Read,
    header: &NpyHeader,
    count: usize,
    mut sink: impl FnMut(&[T]) -> Result<(), Error>,
) -> Result<(), Error> {
    let size = T::DTYPE.size();
    // `sizes` checked that this product fits.
    let total_bytes = count * size;
    let mut buf = vec![0u8; total_bytes.min(CHUNK_BYTES)];
    let mut elements: Vec<T> = Vec::with_capacity(count.min(CHUNK_BYTES / size));
    let mut done = 0;
    while done < total_bytes {
        let want = (total_bytes - done).min(CHUNK_BYTES);
        let got = read_full(&mut r, &mut buf[..want])?;
        if got < want {
            return Err(Error::format(format!(
                "truncated .npy file: shape {} of {} needs {total_bytes} data bytes, the file has {}",
                shape_repr(&header.shape),
                T::DTYPE,
                done + got
            )));
        }
        elements.clear();
        let bytes = buf[..want].chunks_exact(size);
        if header.big_endian {
            elements.extend(bytes.map(T::read_be));
        } else {
            elements.extend(bytes.map(T::read_le));
        }
        sink(&elements)?;
        done += want;
    }
    Ok(())
}

/// Writes `data` as a `.npy` stream with the given `shape`; `data` is in C
/// order if `fortran_order` is false and in F order otherwise.
///
/// The output is what NumPy's `np.save` writes for the same array (see the
/// module docs); like NumPy, it records `fortran_order: False` when the
/// shape has no elements or at most one axis longer than 1, because then C
/// and F order are the same bytes and [`read`] returns the same data. `w` is flushed before returning, so a buffered writer passed
/// by value does not lose a failed final write in its `Drop`.
///
/// # Errors
/// [`Error::Shape`] if `data.len()` is not the shape's element count (or that
/// count overflows), [`Error::Io`] if writing fails.
pub fn write<T: Element>(
    mut w: impl Write,
    shape: &[usize],
    fortran_order: bool,
    data: &[T],
) -> Result<(), Error> {
    let (count, _) = sizes(shape, T::DTYPE.size()).map_err(Error::shape)?;
    if count != data.len() {
        return Err(Error::shape(format!(
            "shape {} holds {count} elements but the data has {}",
            shape_repr(shape),
            data.len()
        )));
    }
    let fortran_order = fortran_order && orders_differ(shape);
    w.write_all(&header_bytes(T::DTYPE, fortran_order, shape)?)?;
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    for chunk in data.chunks(CHUNK_BYTES / T::DTYPE.size()) {
        buf.clear();
        for &x in chunk {
            x.write_le(&mut buf);
        }
        w.write_all(&buf)?;
    }
    w.flush()?;
    Ok(())
}

/// The magic, version, length and padded header for an array.
fn header_bytes(dtype: DType, fortran_order: bool, shape: &[usize]) -> Result<Vec<u8>, Error> {
    let kind = if dtype.is_float() { 'f' } else { 'i' };
    let mut dict = format!(
        "{{'descr': '<{kind}{}', 'fortran_order': {}, 'shape': {}, }}",
        dtype.size(),
        if fortran_order { "True" } else { "False" },
        shape_repr(shape)
    );
    let growth_axis = if fortran_order {
        shape.last()
    } else {
        shape.first()
    };
    if let Some(extent) = growth_axis {
        let digits = extent.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    // Like NumPy: at least one space of padding, then the newline, so that
    // magic + version + length + header is a multiple of ALIGN.
    let padded_len = |prefix: usize| {
        let unpadded = dict.len() + 1;
        unpadded + ALIGN - (prefix + unpadded) % ALIGN
    };
    let (version, length_field) = match u16::try_from(padded_len(10)) {
        Ok(len) => (1u8, len.to_le_bytes().to_vec()),
        Err(_) => match u32::try_from(padded_len(12)) {
            Ok(len) => (2u8, len.to_le_bytes().to_vec()),
            Err(_) => {
                return Err(Error::shape(format!(
                    "a {}-dimensional shape does not fit in a .npy header",
                    shape.len()
                )))
            }
        },
    };
    let prefix_len = MAGIC.len() + 2 + length_field.len();
    let total = prefix_len + padded_len(prefix_len);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    out.extend_from_slice(&length_field);
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

/// Whether C and F order lay out data of this shape differently: not when
/// it has no elements or at most one axis longer than 1. NumPy calls such an
/// array both C- and F-contiguous, and `np.save` then writes
/// `fortran_order: False`; [`write()`] does the same.
fn orders_differ(shape: &[usize]) -> bool {
    !shape.contains(&0) && shape.iter().filter(|&&d| d > 1).count() > 1
}

/// The element count and byte size of a shape, or why they do not fit:
/// the construction rule of every einkern array
/// ([`crate::layout::check_extent`]), checked on the header before any
/// allocation.
fn sizes(shape: &[usize], element_size: usize) -> Result<(usize, usize), String> {
    if let Some(axis) = shape.iter().position(|&d| d > isize::MAX as usize) {
        return Err(format!(
            "shape {}: axis {axis} has length {}, more than isize::MAX",
            shape_repr(shape),
            shape[axis]
        ));
    }
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            format!(
                "shape {} has more elements than fit in usize",
                shape_repr(shape)
            )
        })?;
    // Rust allocations are limited to isize::MAX bytes.
    match count.checked_mul(element_size) {
        Some(bytes) if isize::try_from(bytes).is_ok() => Ok((count, bytes)),
        _ => Err(format!(
            "shape {} needs more bytes than this machine can address",
            shape_repr(shape)
        )),
    }
}

/// A shape as Python writes a tuple: `()`, `(5,)`, `(3, 4)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes it got.
/// Unlike `read_exact`, this tells how far a truncated file got.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, Error> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

fn truncated(where_: &str) -> Error {
    Error::format(format!("truncated .npy file: it ends {where_}"))
}

fn escape_bytes(bytes: &[u8]) -> String {
    let escaped: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("\"{escaped}\"")
}

/// Validates the header dict against the `.npy` spec.
fn parse_header(text: &str) -> Result<NpyHeader, Error> {
    let entries = Parser::new(text).dict()?;
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    for (key, value, source) in entries {
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran_order,
            "shape" => &mut shape,
            _ => {
                return Err(Error::format(format!(
                    "malformed .npy header: unexpected key '{key}' (a header has exactly 'descr', 'fortran_order' and 'shape')"
                )))
            }
        };
        if slot.replace((value, source)).is_some() {
            return Err(Error::format(format!(
                "malformed .npy header: key '{key}' appears twice"
            )));
        }
    }
    let missing = |key: &str| {
        Error::format(format!(
            "malformed .npy header: key '{key}' is missing in {}",
            excerpt(text)
        ))
    };
    let (descr, descr_src) = descr.ok_or_else(|| missing("descr"))?;
    let (fortran_order, fortran_src) = fortran_order.ok_or_else(|| missing("fortran_order"))?;
    let (shape, shape_src) = shape.ok_or_else(|| missing("shape"))?;

    let (dtype, big_endian) = match descr {
        Literal::Str(s) => parse_descr(&s)?,
        Literal::List => {
            return Err(Error::type_(format!(
                "file holds a structured dtype {}; einkern reads only float32, float64, int32 and int64",
                excerpt(&descr_src)
            )))
        }
        _ => {
            return Err(Error::format(format!(
                "malformed .npy header: descr {} is not a dtype string",
                excerpt(&descr_src)
            )))
        }
    };
    let Literal::Bool(fortran_order) = fortran_order else {
        return Err(Error::format(format!(
            "malformed .npy header: fortran_order {} is not True or False",
            excerpt(&fortran_src)
        )));
    };
    let bad_shape = || {
        Error::format(format!(
            "malformed .npy header: shape {} is not a tuple of non-negative integers",
            excerpt(&shape_src)
        ))
    };
    let Literal::Tuple(items) = shape else {
        return Err(bad_shape());
    };
    let shape = items
        .into_iter()
        .map(|item| match item {
            Literal::Int(n) => usize::try_from(n).map_err(|_| bad_shape()),
            _ => Err(bad_shape()),
        })
        .collect::<Result<Vec<usize>, Error>>()?;
    sizes(&shape, dtype.size()).map_err(Error::format)?;
    Ok(NpyHeader {
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}

/// `'<f8'` → (F64, little-endian). Only the four einkern element types.
fn parse_descr(descr: &str) -> Result<(DType, bool), Error> {
    let native_big = cfg!(target_endian = "big");
    let (big_endian, code) = match descr.chars().next() {
        Some('<') => (false, &descr[1..]),
        Some('>') => (true, &descr[1..]),
        // '=' is native; '|' ("not applicable") is what NumPy also reads as native.
        Some('=' | '|') => (native_big, &descr[1..]),
        _ => (native_big, descr),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i4" => DType::I32,
        "i8" => DType::I64,
        _ => {
            return Err(Error::type_(format!(
                "file holds dtype '{descr}'; einkern reads only float32, float64, int32 and int64"
            )))
        }
    };
    Ok((dtype, big_endian))
}

/// The part of a long header an error message quotes.
fn excerpt(text: &str) -> String {
    if text.chars().count() > EXCERPT_CHARS {
        let head: String = text.chars().take(EXCERPT_CHARS).collect();
        format!("{head:?}...")
    } else {
        format!("{text:?}")
    }
}

/// The Python literals a `.npy` header can contain.
#[derive(Debug)]
enum Literal {
    Str(String),
    Bool(bool),
    Int(i128),
    Tuple(Vec<Literal>),
    /// A list; in a header only a structured dtype's field list, which is
    /// refused as a whole, so its items are parsed but not kept.
    List,
}

/// A recursive-descent parser for the subset of Python literal syntax that
/// `ast.literal_eval` accepts in `.npy` headers (dict of str keys; str, bool,
/// int, tuple and list values).
struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

type Entry = (String, Literal, String);

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    /// The whole header: one dict, then only whitespace. Each entry keeps the
    /// source text of its value for error messages.
    fn dict(&mut self) -> Result<Vec<Entry>, Error> {
        self.skip_ws();
        self.expect('{')?;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('}') {
                break;
            }
            let key = match self.peek() {
                Some('\'' | '"' | 'u' | 'U') => self.string()?,
                _ => return Err(self.unexpected("a string key or '}'")),
            };
            self.skip_ws();
            self.expect(':')?;
            self.skip_ws();
            let start = self.pos;
            let value = self.value(0)?;
            let source: String = self.chars[start..self.pos].iter().collect();
            entries.push((key, value, source));
            self.skip_ws();
            if !self.eat(',') {
                self.skip_ws();
                self.expect('}')?;
                break;
            }
        }
        self.skip_ws();
        if self.pos < self.chars.len() {
            return Err(self.unexpected("the end of the header after '}'"));
        }
        Ok(entries)
    }

    fn value(&mut self, depth: usize) -> Result<Literal, Error> {
        if depth > MAX_NESTING {
            return Err(self.error(&format!("nesting deeper than {MAX_NESTING} levels")));
        }
        match self.peek() {
            Some('\'' | '"') => Ok(Literal::Str(self.string()?)),
            Some('(') => self.tuple(depth),
            Some('[') => {
                self.pos += 1;
                self.sequence(']', depth)?;
                Ok(Literal::List)
            }
            Some('-' | '+' | '0'..='9') => self.int(),
            Some(c) if c.is_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    "u" | "U" if matches!(self.peek(), Some('\'' | '"')) => {
                        Ok(Literal::Str(self.string()?))
                    }
                    _ => Err(self.error(&format!("'{word}' is not a literal"))),
                }
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    /// `()` is the empty tuple, `(x)` is just `x`, `(x,)` and `(x, y)` are tuples.
    fn tuple(&mut self, depth: usize) -> Result<Literal, Error> {
        self.pos += 1;
        let (mut items, saw_comma) = self.sequence(')', depth)?;
        if items.len() == 1 && !saw_comma {
            Ok(items.pop().expect("one item"))
        } else {
            Ok(Literal::Tuple(items))
        }
    }

    /// Comma-separated values up to `close` (already past the opener);
    /// returns them and whether any comma was seen.
    fn sequence(&mut self, close: char, depth: usize) -> Result<(Vec<Literal>, bool), Error> {
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok((items, saw_comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(',') {
                saw_comma = true;
            } else {
                self.expect(close)?;
                return Ok((items, saw_comma));
            }
        }
    }

    /// A quoted string with an optional `u` prefix (Python 2 headers).
    fn string(&mut self) -> Result<String, Error> {
        if matches!(self.peek(), Some('u' | 'U')) {
            self.pos += 1;
        }
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.unexpected("a quoted string")),
        };
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('\\' | '\'' | '"')) => out.push(c),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        // Python keeps unknown escapes verbatim.
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => continue,
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A decimal integer, optionally signed, optionally with Python 2's `L`.
    fn int(&mut self) -> Result<Literal, Error> {
        let start = self.pos;
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        self.skip_ws();
        let digits_start = self.pos;
        let mut value: i128 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d)))
                .ok_or_else(|| {
                    self.pos = start;
                    self.error("integer too large")
                })?;
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(self.unexpected("a digit"));
        }
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '.' || c == '_') {
            return Err(self.unexpected("',' or a closing bracket after an integer"));
        }
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, c: char) -> Result<(), Error> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{c}'")))
        }
    }

    fn unexpected(&self, expected: &str) -> Error {
        let found = match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "the end of the header".to_string(),
        };
        self.error(&format!("expected {expected}, found {found}"))
    }

    fn error(&self, what: &str) -> Error {
        Error::format(format!(
            "malformed .npy header at character {}: {what}; header {}",
            self.pos,
            excerpt(self.text)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{self, Cursor};

    /// The bytes of a file written by `tests/fixtures/npy/make_fixtures.py`.
    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../tests/fixtures/npy/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The values `make_fixtures.py` stores, in C order.
    fn expected<T: Element>(count: usize) -> Vec<T> {
        (0..count)
            .map(|k| {
                if T::DTYPE.is_float() {
                    T::from_f64((k as f64 - 5.5) / 4.0)
                } else {
                    T::from_f64(k as f64 - 5.0)
                }
            })
            .collect()
    }

    /// C-order data rearranged into F memory order (first axis fastest).
    fn to_fortran<T: Copy>(shape: &[usize], c: &[T]) -> Vec<T> {
        let mut index = vec![0usize; shape.len()];
        (0..c.len())
            .map(|_| {
                let c_pos = index.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i);
                for (i, &d) in index.iter_mut().zip(shape) {
                    *i += 1;
                    if *i < d {
                        break;
                    }
                    *i = 0;
                }
                c[c_pos]
            })
            .collect()
    }

    fn check_fixture<T: Element>(name: &str, shape: &[usize], fortran: bool) {
        let (got_shape, got_fortran, data) =
            read::<T>(fixture(name).as_slice()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got_shape, shape, "{name}");
        assert_eq!(got_fortran, fortran, "{name}");
        let c = expected::<T>(shape.iter().product());
        let want = if fortran { to_fortran(shape, &c) } else { c };
        assert_eq!(data, want, "{name}");
    }

    /// A version 1.0 file with a verbatim header (no padding) and data.
    fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn format_error(bytes: &[u8]) -> String {
        match read::<f64>(bytes) {
            Err(Error::Format { message }) => message,
            other => panic!(
                "{:?}: expected a format error, got {other:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }

    /// An `Ok` from a corrupted file must at least be self-consistent.
    fn consistent<T: Element>(result: &Result<(Vec<usize>, bool, Vec<T>), Error>) -> bool {
        match result {
            Ok((shape, _, data)) => shape.iter().product::<usize>() == data.len(),
            Err(_) => true,
        }
    }

    #[test]
    fn reads_every_dtype_byte_order_and_memory_order() {
        for tag in ["le", "be"] {
            for (order, fortran) in [("c", false), ("f", true)] {
                check_fixture::<f32>(&format!("f4_{tag}_{order}.npy"), &[3, 4], fortran);
                check_fixture::<f64>(&format!("f8_{tag}_{order}.npy"), &[3, 4], fortran);
                check_fixture::<i32>(&format!("i4_{tag}_{order}.npy"), &[3, 4], fortran);
                check_fixture::<i64>(&format!("i8_{tag}_{order}.npy"), &[3, 4], fortran);
            }
        }
    }

    #[test]
    fn reads_other_ranks_scalars_and_empty_arrays() {
        check_fixture::<i64>("i8_vec.npy", &[5], false);
        check_fixture::<f64>("f8_3d_c.npy", &[2, 3, 4], false);
        check_fixture::<f64>("f8_3d_f.npy", &[2, 3, 4], true);
        check_fixture::<f32>("f4_empty.npy", &[2, 0, 3], false);
        let (shape, fortran, data) = read::<f64>(fixture("f8_scalar.npy").as_slice()).unwrap();
        assert_eq!((shape, fortran, data), (vec![], false, vec![2.5]));
    }

    #[test]
    fn reads_format_versions_2_and_3() {
        assert_eq!(fixture("f8_v2.npy")[6..8], [2, 0]);
        check_fixture::<f64>("f8_v2.npy", &[3, 4], false);
        assert_eq!(fixture("i4_v3.npy")[6..8], [3, 0]);
        check_fixture::<i32>("i4_v3.npy", &[3, 4], false);
    }

    #[test]
    fn reads_headers_other_writers_produce() {
        let legacy = fixture("legacy_align16_f8.npy");
        let data_start = 10 + usize::from(u16::from_le_bytes([legacy[8], legacy[9]]));
        assert_eq!((data_start % 16, data_start % 64 != 0), (0, true));
        check_fixture::<f64>("legacy_align16_f8.npy", &[3, 4], false);
        check_fixture::<i64>("py2_long_i8.npy", &[3, 4], false);
        check_fixture::<i32>("reordered_header_i4.npy", &[3, 4], false);
        check_fixture::<f64>("native_f8.npy", &[3, 4], false);
        // pipe_f4.npy stores the arange values as they are, read in F order.
        let (shape, fortran, data) = read::<f32>(fixture("pipe_f4.npy").as_slice()).unwrap();
        assert_eq!(
            (shape, fortran, data),
            (vec![4, 3], true, expected::<f32>(12))
        );
    }

    #[test]
    fn ignores_and_does_not_consume_bytes_after_the_data() {
        let bytes = fixture("trailing_bytes_f8.npy");
        let mut cursor = Cursor::new(&bytes);
        let (shape, _, data) = read::<f64>(&mut cursor).unwrap();
        assert_eq!((shape, data), (vec![3, 4], expected::<f64>(12)));
        assert_eq!(&bytes[cursor.position() as usize..], b"trailing garbage");
    }

    #[test]
    fn reads_consecutive_arrays_from_one_stream() {
        let mut stream = Vec::new();
        write(&mut stream, &[2], false, &[1.0f64, 2.0]).unwrap();
        write(&mut stream, &[3], false, &[7i32, 8, 9]).unwrap();
        let mut r = Cursor::new(stream);
        assert_eq!(read::<f64>(&mut r).unwrap().2, [1.0, 2.0]);
        assert_eq!(read::<i32>(&mut r).unwrap().2, [7, 8, 9]);
        assert!(format_error(&r.get_ref()[r.position() as usize..]).contains("empty"));
    }

    #[test]
    fn header_reports_what_the_file_says() {
        let h = read_header(&mut fixture("i8_be_f.npy").as_slice()).unwrap();
        let want = NpyHeader {
            dtype: DType::I64,
            big_endian: true,
            fortran_order: true,
            shape: vec![3, 4],
        };
        assert_eq!(h, want);
        let h = read_header(&mut fixture("f4_empty.npy").as_slice()).unwrap();
        assert_eq!(
            (h.dtype, h.big_endian, h.shape),
            (DType::F32, false, vec![2, 0, 3])
        );
    }

    #[test]
    fn header_then_data_lets_a_caller_dispatch_on_the_dtype() {
        let bytes = fixture("i4_be_c.npy");
        let mut r = bytes.as_slice();
        let header = read_header(&mut r).unwrap();
        assert_eq!(header.dtype, DType::I32);
        assert_eq!(
            read_data::<i32>(&mut r, &header).unwrap(),
            expected::<i32>(12)
        );
        assert!(r.is_empty());
    }

    #[test]
    fn wrong_element_type_names_both_types() {
        fn message<T: Element>(bytes: &[u8]) -> Option<String> {
            match read::<T>(bytes) {
                Ok(_) => None,
                Err(Error::Type { message }) => Some(message),
                Err(e) => panic!("expected a type error, got {e}"),
            }
        }
        for (file, holds) in [
            ("f4_le_c.npy", "float32"),
            ("f8_be_c.npy", "float64"),
            ("i4_le_f.npy", "int32"),
            ("i8_le_c.npy", "int64"),
        ] {
            let bytes = fixture(file);
            let got = [
                ("float32", message::<f32>(&bytes)),
                ("float64", message::<f64>(&bytes)),
                ("int32", message::<i32>(&bytes)),
                ("int64", message::<i64>(&bytes)),
            ];
            for (want, message) in got {
                if want == holds {
                    assert_eq!(message, None, "{file}");
                } else {
                    assert_eq!(
                        message,
                        Some(format!("file holds {holds}, expected {want}"))
                    );
                }
            }
        }
        let header = NpyHeader {
            dtype: DType::I64,
            big_endian: false,
            fortran_order: false,
            shape: vec![],
        };
        assert!(matches!(
            read_data::<f32>(&[0u8; 8][..], &header),
            Err(Error::Type { .. })
        ));
    }

    #[test]
    fn unsupported_dtypes_are_type_errors_naming_the_dtype() {
        assert_eq!(fixture("structured_v2.npy")[6..8], [2, 0]);
        for (name, needle) in [
            ("c16_unsupported.npy", "'<c16'"),
            ("u1_unsupported.npy", "'|u1'"),
            ("object_unsupported.npy", "'|O'"),
            ("structured_v2.npy", "structured dtype \"[('xxxx"),
        ] {
            match read::<f64>(fixture(name).as_slice()) {
                Err(Error::Type { message }) => {
                    assert!(message.contains(needle), "{name}: {message}");
                    assert!(message.contains("float32, float64, int32 and int64"));
                }
                other => panic!("{name}: expected a type error, got {other:?}"),
            }
        }
    }

    #[test]
    fn headers_decode_as_latin1_before_3_0_and_utf8_in_3_0() {
        let header_v1 = b"{'descr': '<f8\xe9', 'fortran_order': False, 'shape': (), }\n";
        let mut v1 = b"\x93NUMPY\x01\x00".to_vec();
        v1.extend_from_slice(&(header_v1.len() as u16).to_le_bytes());
        v1.extend_from_slice(header_v1);
        let header_v3 = "{'descr': '<f8\u{e9}', 'fortran_order': False, 'shape': (), }\n";
        let mut v3 = b"\x93NUMPY\x03\x00".to_vec();
        v3.extend_from_slice(&(header_v3.len() as u32).to_le_bytes());
        v3.extend_from_slice(header_v3.as_bytes());
        for bytes in [v1, v3] {
            match read::<f64>(bytes.as_slice()) {
                Err(Error::Type { message }) => assert!(message.contains("'<f8\u{e9}'")),
                other => panic!("expected a type error, got {other:?}"),
            }
        }
        let mut bad = b"\x93NUMPY\x03\x00".to_vec();
        bad.extend_from_slice(&(header_v1.len() as u32).to_le_bytes());
        bad.extend_from_slice(header_v1);
        assert!(format_error(&bad).contains("not UTF-8"));
    }

    #[test]
    fn writer_output_is_byte_identical_to_numpy() {
        fn same<T: Element>(name: &str) {
            let bytes = fixture(name);
            let (shape, fortran, data) = read::<T>(bytes.as_slice()).unwrap();
            let mut out = Vec::new();
            write(&mut out, &shape, fortran, &data).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out[..out.len().min(128)]),
                String::from_utf8_lossy(&bytes[..bytes.len().min(128)]),
                "{name}"
            );
            assert_eq!(out, bytes, "{name}");
        }
        for order in ["c", "f"] {
            same::<f32>(&format!("f4_le_{order}.npy"));
            same::<f64>(&format!("f8_le_{order}.npy"));
            same::<i32>(&format!("i4_le_{order}.npy"));
            same::<i64>(&format!("i8_le_{order}.npy"));
            same::<f64>(&format!("f8_3d_{order}.npy"));
        }
        same::<i64>("i8_vec.npy");
        same::<f64>("f8_scalar.npy");
        same::<f32>("f4_empty.npy");
    }

    #[test]
    fn big_endian_files_are_rewritten_little_endian() {
        let (shape, fortran, data) = read::<i64>(fixture("i8_be_f.npy").as_slice()).unwrap();
        let mut out = Vec::new();
        write(&mut out, &shape, fortran, &data).unwrap();
        assert_eq!(out, fixture("i8_le_f.npy"));
    }

    #[test]
    fn round_trips_extreme_values_bit_for_bit() {
        let f64s = [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
        ];
        let mut out = Vec::new();
        write(&mut out, &[5, 2], true, &f64s).unwrap();
        let (shape, fortran, back) = read::<f64>(out.as_slice()).unwrap();
        assert_eq!((shape, fortran), (vec![5, 2], true));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&f64s));

        let f32s = f64s.map(|x| x as f32);
        let mut out = Vec::new();
        write(&mut out, &[10], false, &f32s).unwrap();
        let back = read::<f32>(out.as_slice()).unwrap().2;
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&f32s));

        let i64s = [i64::MIN, -1, 0, 1, i64::MAX];
        let mut out = Vec::new();
        write(&mut out, &[5], false, &i64s).unwrap();
        assert_eq!(read::<i64>(out.as_slice()).unwrap().2, i64s);
        let i32s = [i32::MIN, -1, 0, 1, i32::MAX];
        let mut out = Vec::new();
        write(&mut out, &[1, 5, 1], true, &i32s).unwrap();
        // One axis longer than 1: C and F order coincide, stored as C like NumPy.
        assert_eq!(
            read::<i32>(out.as_slice()).unwrap(),
            (vec![1, 5, 1], false, i32s.to_vec())
        );
    }

    #[test]
    fn data_always_starts_on_a_64_byte_boundary() {
        // The growth axis (first for C, last for F) sets the padding, so both
        // ends take every digit count; the 0 keeps the arrays empty.
        let mut shapes = vec![vec![0]];
        for ones in 0..10 {
            // No axis is longer than isize::MAX (19 digits), even beside a 0.
            for extent in [
                1usize,
                7,
                10,
                123_456_789,
                u32::MAX as usize,
                isize::MAX as usize,
            ] {
                let mut shape = vec![extent];
                shape.extend(std::iter::repeat_n(1, ones));
                shape.extend([0, extent]);
                shapes.push(shape);
            }
        }
        for shape in shapes {
            for fortran in [false, true] {
                let mut out = Vec::new();
                write::<i32>(&mut out, &shape, fortran, &[]).unwrap();
                assert_eq!(out[6..8], [1, 0]);
                assert_eq!(out.len() % ALIGN, 0, "{shape:?}");
                assert_eq!(out.last(), Some(&b'\n'));
                assert_eq!(
                    read::<i32>(out.as_slice()).unwrap(),
                    (shape.clone(), false, vec![])
                );
            }
        }
    }

    #[test]
    fn header_too_long_for_u16_is_written_as_version_2() {
        let shape = vec![1usize; 30_000];
        let mut out = Vec::new();
        write(&mut out, &shape, false, &[4.5f64]).unwrap();
        assert_eq!(out[6..8], [2, 0]);
        let len = u32::from_le_bytes(out[8..12].try_into().unwrap()) as usize;
        assert!(len > usize::from(u16::MAX));
        assert_eq!(((12 + len) % ALIGN, out[12 + len - 1]), (0, b'\n'));
        assert_eq!(
            read::<f64>(out.as_slice()).unwrap(),
            (shape, false, vec![4.5])
        );
    }

    #[test]
    fn large_arrays_cross_chunk_boundaries() {
        let n = CHUNK_BYTES / 8 * 3 + 5;
        let data: Vec<i64> = (0..n as i64).map(|k| k * 0x0101_0101_0101).collect();
        let mut out = Vec::new();
        write(&mut out, &[n], false, &data).unwrap();
        assert_eq!(out.len(), 128 + 8 * n);
        assert_eq!(read::<i64>(out.as_slice()).unwrap().2, data);
    }

    #[test]
    fn writer_rejects_data_that_does_not_fit_the_shape() {
        let shape_error = |r: Result<(), Error>| match r {
            Err(Error::Shape { message }) => message,
            other => panic!("expected a shape error, got {other:?}"),
        };
        assert_eq!(
            shape_error(write(Vec::new(), &[2, 3], false, &[1.0f64; 5])),
            "shape (2, 3) holds 6 elements but the data has 5"
        );
        assert!(
            shape_error(write::<f64>(Vec::new(), &[1 << 32, 1 << 32, 2], false, &[]))
                .contains("more elements than fit in usize")
        );
        assert_eq!(
            shape_error(write::<f64>(Vec::new(), &[usize::MAX, 0], false, &[])),
            "shape (18446744073709551615, 0): axis 0 has length 18446744073709551615, \
             more than isize::MAX"
        );
        assert!(
            shape_error(write::<f64>(Vec::new(), &[usize::MAX / 4], false, &[]))
                .contains("more bytes than this machine can address")
        );
    }

    /// Accepts `accept` bytes, then fails like a full disk.
    struct FailingWriter {
        accept: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.accept == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.accept);
            self.accept -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writer_reports_io_failures() {
        let data = vec![1.5f64; 1000];
        for accept in [0, 50, 138, 128 + 8 * 999] {
            match write(FailingWriter { accept }, &[1000], false, &data) {
                Err(e @ Error::Io(_)) => assert_eq!(e.to_string(), "I/O error: disk full"),
                other => panic!("accept {accept}: expected an I/O error, got {other:?}"),
            }
        }
        assert!(write(FailingWriter { accept: 128 + 8000 }, &[1000], false, &data).is_ok());
    }

    #[test]
    fn rejects_bad_magic_version_and_truncated_prefixes() {
        assert_eq!(format_error(b""), "not a .npy file: the stream is empty");
        assert_eq!(
            format_error(b"PK\x03\x04\x14\x00\x00\x00"),
            "not a .npy file: it starts with \"PK\\x03\\x04\\x14\\x00\", not the magic \\x93NUMPY"
        );
        assert_eq!(
            format_error(b"\x93NUMP"),
            "truncated .npy file: it ends inside the magic string"
        );
        assert!(format_error(b"\x93NUMQ").contains("not the magic"));
        assert!(format_error(b"\x93NUMPY").contains("ends inside the format version"));
        assert!(format_error(b"\x93NUMPY\x01").contains("ends inside the format version"));
        for (version, shown) in [([1u8, 1], "1.1"), ([0, 0], "0.0"), ([4, 0], "4.0")] {
            let mut bytes = b"\x93NUMPY".to_vec();
            bytes.extend_from_slice(&version);
            bytes.extend_from_slice(&[0x10, 0, 0, 0]);
            assert_eq!(
                format_error(&bytes),
                format!("unsupported .npy format version {shown} (einkern reads 1.0, 2.0 and 3.0)")
            );
        }
        assert!(format_error(b"\x93NUMPY\x01\x00\x76").contains("inside the header length"));
        assert!(format_error(b"\x93NUMPY\x02\x00\x76\x00\x00").contains("inside the header length"));
        let mut cut = fixture("f8_le_c.npy");
        cut.truncate(40);
        assert_eq!(
            format_error(&cut),
            "truncated .npy file: it ends inside the header (118 bytes announced, 30 present)"
        );
    }

    #[test]
    fn huge_header_length_on_a_short_file_is_an_error_without_allocating_it() {
        let message = format_error(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'");
        assert_eq!(
            message,
            "the .npy header is 4294967295 bytes long, more than the 1048576 bytes einkern \
             reads (see npy::MAX_HEADER_BYTES)"
        );
        // Within the bound, a length past the end of the file is truncation.
        let message = format_error(b"\x93NUMPY\x02\x00\x00\x00\x10\x00{'descr'");
        assert!(
            message.contains("1048576 bytes announced, 8 present"),
            "{message}"
        );
        let message = format_error(b"\x93NUMPY\x02\x00\x01\x00\x10\x00{'descr'");
        assert!(message.contains("1048577 bytes long"), "{message}");
    }

    #[test]
    fn rejects_malformed_headers() {
        const REST: &str = "'descr': '<f8', 'fortran_order': False";
        let deep = format!(
            "{{{REST}, 'shape': {}{}}}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let too_long = format!("{{{REST}, 'shape': (1{},)}}", "0".repeat(50));
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "expected '{', found the end of the header"),
            ("[1, 2]".into(), "expected '{', found '['"),
            (
                format!("{{{REST}, 'shape': (3, 4), "),
                "expected a string key or '}'",
            ),
            (
                format!("{{{REST}, 'shape': (3, 4)"),
                "expected '}', found the end",
            ),
            (
                format!("{{{REST}, 'shape': ()}} x"),
                "expected the end of the header after '}'",
            ),
            ("{'descr' '<f8'}".into(), "expected ':', found '\\''"),
            (
                "{descr: '<f8'}".into(),
                "expected a string key or '}', found 'd'",
            ),
            ("{'descr': '<f8".into(), "unterminated string"),
            ("{'descr': '<f8\n'}".into(), "unterminated string"),
            (format!("{{{REST}}}"), "key 'shape' is missing"),
            (
                "{'descr': '<f8', 'shape': ()}".into(),
                "key 'fortran_order' is missing",
            ),
            (
                "{'fortran_order': False, 'shape': ()}".into(),
                "key 'descr' is missing",
            ),
            (
                format!("{{{REST}, 'shape': (), 'x': 1}}"),
                "unexpected key 'x'",
            ),
            (
                format!("{{{REST}, 'shape': (), 'shape': ()}}"),
                "key 'shape' appears twice",
            ),
            (
                format!("{{{REST}, 'shape': (5)}}"),
                "shape \"(5)\" is not a tuple",
            ),
            (
                format!("{{{REST}, 'shape': [3, 4]}}"),
                "shape \"[3, 4]\" is not a tuple",
            ),
            (
                format!("{{{REST}, 'shape': (3, -4)}}"),
                "is not a tuple of non-negative integers",
            ),
            (
                format!("{{{REST}, 'shape': (3, '4')}}"),
                "is not a tuple of non-negative integers",
            ),
            (
                format!("{{{REST}, 'shape': ((3,),)}}"),
                "is not a tuple of non-negative integers",
            ),
            (
                format!("{{{REST}, 'shape': (99999999999999999999999,)}}"),
                "is not a tuple of",
            ),
            (
                format!("{{{REST}, 'shape': (3.0,)}}"),
                "expected ',' or a closing bracket after an integer",
            ),
            (
                format!("{{{REST}, 'shape': (3,,)}}"),
                "expected a value, found ','",
            ),
            (format!("{{{REST}, 'shape': (-,)}}"), "expected a digit"),
            (too_long, "integer too large"),
            (deep, "nesting deeper than 64 levels"),
            (
                "{'descr': '<f8', 'fortran_order': 'False', 'shape': ()}".into(),
                "fortran_order \"'False'\" is not True or False",
            ),
            (
                "{'descr': '<f8', 'fortran_order': 1, 'shape': ()}".into(),
                "is not True or False",
            ),
            (
                "{'descr': '<f8', 'fortran_order': None, 'shape': ()}".into(),
                "'None' is not a literal",
            ),
            (
                "{'descr': 8, 'fortran_order': False, 'shape': ()}".into(),
                "descr \"8\" is not a dtype string",
            ),
        ];
        for (header, needle) in cases {
            let message = format_error(&with_header(&header, &[0; 8]));
            assert!(message.starts_with("malformed .npy header"), "{message}");
            assert!(message.contains(needle), "{header:.80}: {message}");
        }
    }

    #[test]
    fn rejects_shapes_whose_size_overflows() {
        let count = format_error(&with_header(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}",
            &[],
        ));
        assert_eq!(
            count,
            "shape (4294967296, 4294967296, 4294967296) has more elements than fit in usize"
        );
        let bytes = format_error(&with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,)}",
            &[],
        ));
        assert!(bytes.contains("needs more bytes than this machine can address"));
        let header = NpyHeader {
            dtype: DType::F64,
            big_endian: false,
            fortran_order: false,
            shape: vec![usize::MAX, 3],
        };
        assert!(matches!(
            read_data::<f64>(&[][..], &header),
            Err(Error::Format { .. })
        ));
    }

    #[test]
    fn short_data_is_an_error_not_a_partial_array() {
        let mut bytes = fixture("f8_le_c.npy");
        bytes.pop();
        assert_eq!(
            format_error(&bytes),
            "truncated .npy file: shape (3, 4) of float64 needs 96 data bytes, the file has 95"
        );
    }

    #[test]
    fn huge_shape_on_a_tiny_file_fails_without_allocating_it() {
        // 8 TiB announced, 16 bytes present: allocating up front would abort.
        let bytes = with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,)}",
            &[0; 16],
        );
        assert!(format_error(&bytes).ends_with("needs 8796093022208 data bytes, the file has 16"));
    }

    /// Yields the first `ok` bytes of `data`, then fails.
    struct BrokenReader<'a> {
        data: &'a [u8],
        ok: usize,
    }

    impl Read for BrokenReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("cable unplugged"));
            }
            let n = buf.len().min(self.ok).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.ok -= n;
            Ok(n)
        }
    }

    #[test]
    fn io_errors_while_reading_are_io_errors() {
        let bytes = fixture("f8_le_c.npy");
        for ok in [0, 5, 9, 20, 150] {
            match read::<f64>(BrokenReader { data: &bytes, ok }) {
                Err(e @ Error::Io(_)) => {
                    assert_eq!(e.to_string(), "I/O error: cable unplugged")
                }
                other => panic!("ok {ok}: expected an I/O error, got {other:?}"),
            }
        }
    }

    /// Hands out one byte per call, with an `Interrupted` error before each.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(1);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn tolerates_short_reads_and_interruptions() {
        let bytes = fixture("f8_3d_f.npy");
        let trickle = Trickle {
            data: &bytes,
            interrupt: false,
        };
        let (shape, fortran, data) = read::<f64>(trickle).unwrap();
        assert_eq!((shape, fortran), (vec![2, 3, 4], true));
        assert_eq!(data, to_fortran(&[2, 3, 4], &expected::<f64>(24)));
    }

    #[test]
    fn every_truncation_of_every_fixture_is_an_error() {
        let names = [
            "f4_le_c.npy",
            "f8_be_f.npy",
            "i4_v3.npy",
            "f8_v2.npy",
            "i8_vec.npy",
            "f8_scalar.npy",
            "f4_empty.npy",
            "legacy_align16_f8.npy",
            "py2_long_i8.npy",
            "reordered_header_i4.npy",
            "pipe_f4.npy",
            "c16_unsupported.npy",
        ];
        for name in names {
            let bytes = fixture(name);
            for cut in 0..bytes.len() {
                let short = &bytes[..cut];
                assert!(
                    read::<f64>(short).is_err() && read::<f32>(short).is_err(),
                    "{name}[..{cut}]"
                );
                assert!(
                    read::<i32>(short).is_err() && read::<i64>(short).is_err(),
                    "{name}[..{cut}]"
                );
            }
        }
    }

    /// Characters that appear in headers, so random headers get deep into the parser.
    const HEADER_ALPHABET: &str = "[{}()\\[\\],:'\" \\t\\n0-9<>|=_\\\\fiuLTrueFalsdcphno-]";

    proptest! {
        #[test]
        fn random_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(read::<f64>(bytes.as_slice()).is_err());
        }

        #[test]
        fn random_headers_never_panic(
            version in 1u8..=3,
            header in proptest::string::string_regex(&format!("{HEADER_ALPHABET}{{0,120}}")).unwrap(),
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
            if version == 1 {
                bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            } else {
                bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
            }
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(&data);
            let _ = read_header(&mut bytes.as_slice());
            prop_assert!(consistent(&read::<i32>(bytes.as_slice())));
        }

        #[test]
        fn mutated_headers_never_panic(
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), proptest::string::string_regex(&format!("{HEADER_ALPHABET}{{0,3}}")).unwrap()),
                1..4,
            ),
        ) {
            let mut header: Vec<char> =
                "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }".chars().collect();
            for (at, replacement) in edits {
                let at = at.index(header.len() + 1);
                let end = (at + 1).min(header.len());
                header.splice(at..end, replacement.chars());
            }
            let header: String = header.into_iter().collect();
            let bytes = with_header(&header, &[7; 24]);
            prop_assert!(consistent(&read::<i32>(bytes.as_slice())));
        }

        #[test]
        fn flipped_bytes_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = fixture("f8_3d_f.npy");
            let at = at.index(bytes.len());
            bytes[at] = byte;
            prop_assert!(consistent(&read::<f64>(bytes.as_slice())));
        }

        #[test]
        fn truncated_written_files_are_rejected(
            shape in proptest::collection::vec(0usize..4, 0..4),
            fortran in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let count: usize = shape.iter().product();
            let data: Vec<i64> = (0..count as i64).collect();
            let mut bytes = Vec::new();
            write(&mut bytes, &shape, fortran, &data).unwrap();
            let cut = cut.index(bytes.len());
            prop_assert!(read::<i64>(&bytes[..cut]).is_err());
            let stored = fortran && orders_differ(&shape);
            prop_assert_eq!(read::<i64>(bytes.as_slice()).unwrap(), (shape, stored, data));
        }

        #[test]
        fn round_trips_random_arrays(
            (shape, data) in proptest::collection::vec(0usize..5, 0..5).prop_flat_map(|shape| {
                let count: usize = shape.iter().product();
                (Just(shape), proptest::collection::vec(any::<f64>(), count))
            }),
            fortran in any::<bool>(),
            ints in proptest::collection::vec(any::<i32>(), 0..100),
        ) {
            let mut bytes = Vec::new();
            write(&mut bytes, &shape, fortran, &data).unwrap();
            prop_assert_eq!(bytes.len() % ALIGN, (8 * data.len()) % ALIGN);
            let (back_shape, back_fortran, back) = read::<f64>(bytes.as_slice()).unwrap();
            let stored = fortran && orders_differ(&shape);
            prop_assert_eq!((back_shape, back_fortran), (shape, stored));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&back), bits(&data));

            let mut bytes = Vec::new();
            write(&mut bytes, &[ints.len()], fortran, &ints).unwrap();
            prop_assert_eq!(read::<i32>(bytes.as_slice()).unwrap(), (vec![ints.len()], false, ints));
        }
    }
}
