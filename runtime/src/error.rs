//! The one error type of einkern, shared by the runtime, the compiler and the JIT.
//!
//! Every variant carries a complete, human-readable message: a shape error
//! names both shapes and the axis, a parse error the column and what was
//! expected. Callers match on the variant to decide *what kind* of failure it
//! was and print it to tell the user *why*.

use std::fmt;

/// Every failure einkern reports at run time.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Shapes that do not fit together: broadcasting, reshaping, einsum label
    /// sizes, an output array of the wrong shape, a buffer of the wrong length.
    Shape { message: String },
    /// A syntax error in an einsum spec or an expression. `column` is the
    /// 0-based character offset into `input` where the problem starts.
    Parse {
        message: String,
        input: String,
        column: usize,
    },
    /// An element type that does not match: a `.npy` dtype other than `T`,
    /// mixing element types in an expression without a cast.
    Type { message: String },
    /// An index, axis or slice bound outside the array.
    Index { message: String },
    /// A malformed file (bad `.npy` magic, header, or truncated data).
    Format { message: String },
    /// A value that is not allowed for the operation (a zero slice step, a
    /// window larger than its axis, an unknown name).
    Value { message: String },
    /// Memory that could not be had: an array whose size in bytes overflows
    /// `isize`, or an allocation the system refused.
    Alloc { message: String },
    /// An operating-system I/O failure. Errors made with [`Error::io`]
    /// carry the path they concern in the message.
    Io(std::io::Error),
}

impl Error {
    pub fn shape(message: impl Into<String>) -> Self {
        Error::Shape {
            message: message.into(),
        }
    }
    pub fn type_(message: impl Into<String>) -> Self {
        Error::Type {
            message: message.into(),
        }
    }
    pub fn index(message: impl Into<String>) -> Self {
        Error::Index {
            message: message.into(),
        }
    }
    pub fn format(message: impl Into<String>) -> Self {
        Error::Format {
            message: message.into(),
        }
    }
    pub fn value(message: impl Into<String>) -> Self {
        Error::Value {
            message: message.into(),
        }
    }
    pub fn alloc(message: impl Into<String>) -> Self {
        Error::Alloc {
            message: message.into(),
        }
    }
    pub fn parse(message: impl Into<String>, input: impl Into<String>, column: usize) -> Self {
        Error::Parse {
            message: message.into(),
            input: input.into(),
            column,
        }
    }
    /// An I/O error; with `Some(path)`, the message starts with the path,
    /// and the error kind is kept.
    pub fn io(path: Option<&std::path::Path>, source: std::io::Error) -> Self {
        match path {
            Some(p) => Error::Io(std::io::Error::new(
                source.kind(),
                format!("{}: {source}", p.display()),
            )),
            None => Error::Io(source),
        }
    }

    /// The message without the variant's prefix or the caret line of a parse
    /// error: what a proc-macro puts in `compile_error!`.
    pub fn message(&self) -> String {
        match self {
            Error::Shape { message }
            | Error::Type { message }
            | Error::Index { message }
            | Error::Format { message }
            | Error::Value { message }
            | Error::Alloc { message }
            | Error::Parse { message, .. } => message.clone(),
            Error::Io(source) => source.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { message } => write!(f, "shape error: {message}"),
            Error::Type { message } => write!(f, "type error: {message}"),
            Error::Index { message } => write!(f, "index error: {message}"),
            Error::Format { message } => write!(f, "format error: {message}"),
            Error::Value { message } => write!(f, "value error: {message}"),
            Error::Alloc { message } => write!(f, "memory error: {message}"),
            Error::Io(source) => write!(f, "I/O error: {source}"),
            Error::Parse {
                message,
                input,
                column,
            } => {
                // The caret sits under the offending character; columns count
                // characters, not bytes, so non-ASCII input lines up too.
                write!(
                    f,
                    "parse error at column {}: {message}\n  {input}\n  {:>width$}",
                    column + 1,
                    "^",
                    width = column + 1
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(source) => Some(source),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_points_at_the_column() {
        let e = Error::parse("expected a label", "ij,j#->i", 4);
        let text = e.to_string();
        assert!(text.starts_with("parse error at column 5: expected a label"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  ij,j#->i");
        assert_eq!(lines[2].find('^'), Some(2 + 4));
    }

    #[test]
    fn io_error_names_the_path_and_has_a_source() {
        let e = Error::io(
            Some(std::path::Path::new("x.npy")),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        );
        assert_eq!(e.to_string(), "I/O error: x.npy: no such file");
        assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound));
        assert!(std::error::Error::source(&e).is_some());
    }
}
