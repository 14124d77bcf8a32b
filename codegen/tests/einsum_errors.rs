//! Every error the einsum front end reports: the kind, the column of a parse
//! error, and the exact message a user reads.

use einkern_codegen::einsum::{einsum_reference_f64, Equation, Spec};
use einkern_runtime::Error;

/// Asserts that parsing `spec` (for `operands` operands if given) fails at
/// `column` with `message`.
fn parse_error(spec: &str, operands: Option<usize>, column: usize, message: &str) {
    let result = match operands {
        Some(n) => Spec::parse_for(spec, n),
        None => Spec::parse(spec),
    };
    match result {
        Err(Error::Parse {
            message: m,
            input,
            column: c,
        }) => {
            assert_eq!(input, spec);
            assert_eq!((c, m.as_str()), (column, message), "for {spec:?}");
        }
        other => panic!("{spec:?}: expected a parse error, got {other:?}"),
    }
}

fn shape_error(spec: &str, shapes: &[&[usize]], message: &str) {
    let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
    let result = Spec::parse(spec)
        .and_then(|s| Equation::from_spec(&s, &ranks))
        .and_then(|e| e.bind(shapes));
    match result {
        Err(Error::Shape { message: m }) => assert_eq!(m, message, "for {spec:?} {shapes:?}"),
        other => panic!("{spec:?} {shapes:?}: expected a shape error, got {other:?}"),
    }
}

const LETTERS: &str = "labels are the letters a-z and A-Z";

#[test]
fn invalid_character() {
    let m = format!("invalid character '#' in the subscripts; {LETTERS}");
    parse_error("ij,j#->i", None, 4, &m);
    let m = format!("invalid character '1' in the subscripts; {LETTERS}");
    parse_error("i->i1", None, 4, &m);
    let m = format!("invalid character '_' in the subscripts; {LETTERS}");
    parse_error("i_", None, 1, &m);
}

#[test]
fn non_ascii_letter_is_invalid_and_the_column_counts_characters() {
    let m = format!("invalid character 'é' in the subscripts; {LETTERS}");
    parse_error("éé,ié", None, 0, &m);
    parse_error("ab,ié", None, 4, &m);
}

#[test]
fn arrow_twice() {
    parse_error("i->i->i", None, 4, "'->' appears more than once");
}

#[test]
fn dash_without_greater_than() {
    let m = "'-' must be followed directly by '>' to form the output arrow '->'";
    parse_error("i-i", None, 1, m);
    parse_error("i- >i", None, 1, m);
    parse_error("ij-", None, 2, m);
}

#[test]
fn greater_than_without_dash() {
    parse_error(
        "ij>i",
        None,
        2,
        "'>' without a '-' before it; the output arrow is '->'",
    );
}

#[test]
fn output_label_not_in_any_input() {
    parse_error(
        "ij,jk->ikl",
        None,
        9,
        "output label 'l' does not appear in any input",
    );
}

#[test]
fn output_label_twice() {
    parse_error(
        "ij->j i i",
        None,
        8,
        "output label 'i' appears more than once",
    );
}

#[test]
fn comma_in_output() {
    parse_error(
        "ij->i,j",
        None,
        5,
        "the output has one set of subscripts; ',' is not allowed after '->'",
    );
}

#[test]
fn malformed_ellipsis() {
    parse_error(
        "..i",
        None,
        0,
        "'..' in operand 0 is not an ellipsis; write '...' (three dots)",
    );
    parse_error(
        "i,.i",
        None,
        2,
        "'.' in operand 1 is not an ellipsis; write '...' (three dots)",
    );
    parse_error(
        ". ..i",
        None,
        0,
        "'.' in operand 0 is not an ellipsis; write '...' (three dots)",
    );
    parse_error(
        "....i",
        None,
        3,
        "'.' in operand 0 is not part of an ellipsis '...'",
    );
    parse_error(
        "......",
        None,
        3,
        "operand 0 has more than one ellipsis '...'",
    );
    parse_error(
        "...i...",
        None,
        4,
        "operand 0 has more than one ellipsis '...'",
    );
    parse_error(
        "...i->..",
        None,
        6,
        "'..' in the output is not an ellipsis; write '...' (three dots)",
    );
    parse_error(
        "...i->......",
        None,
        9,
        "the output has more than one ellipsis '...'",
    );
}

#[test]
fn ellipsis_only_in_the_output_is_accepted_like_numpy() {
    // numpy.einsum("i->...", x) returns x.sum(): the `...` covers no dimension.
    let spec = Spec::parse("i->...").unwrap();
    let eq = Equation::from_spec(&spec, &[1]).unwrap();
    assert_eq!(eq.output(), &[] as &[_]);
    assert_eq!(eq.broadcast_rank(), 0);
}

#[test]
fn too_few_operands_given() {
    parse_error(
        "ij,jk",
        Some(1),
        2,
        "the subscripts name 2 operands, but 1 was given",
    );
    parse_error(
        "ij,jk,kl->il",
        Some(2),
        5,
        "the subscripts name 3 operands, but 2 were given",
    );
    parse_error(
        "ij",
        Some(0),
        0,
        "the subscripts name 1 operand, but 0 were given",
    );
}

#[test]
fn too_many_operands_given() {
    parse_error(
        "ij",
        Some(2),
        2,
        "2 operands were given, but the subscripts name only 1",
    );
    parse_error(
        "ij->i",
        Some(3),
        2,
        "3 operands were given, but the subscripts name only 1",
    );
}

#[test]
fn parse_error_display_points_at_the_column() {
    let e = Spec::parse("ij,jk->ikl").unwrap_err();
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "parse error at column 10: output label 'l' does not appear in any input"
    );
    assert_eq!(lines[2].find('^'), Some(2 + 9));
}

#[test]
fn rank_smaller_than_the_subscripts() {
    shape_error(
        "ijk",
        &[&[2, 3]],
        "operand 0 has 2 dimensions, but its subscripts 'ijk' name 3",
    );
}

#[test]
fn rank_larger_than_the_subscripts_without_ellipsis() {
    shape_error(
        "i,ij",
        &[&[3], &[3, 4, 5]],
        "operand 1 has 3 dimensions, but its subscripts 'ij' name only 2 and have no '...' to cover the rest",
    );
}

#[test]
fn ellipsis_dimensions_with_no_ellipsis_in_the_output() {
    // numpy: "output has more dimensions than subscripts given in einstein sum ..."
    shape_error(
        "...i->i",
        &[&[1, 3]],
        "operand 0 has 1 dimension under '...', but the output 'i' has no '...' to receive it",
    );
    shape_error(
        "i,...i->i",
        &[&[3], &[2, 2, 3]],
        "operand 1 has 2 dimensions under '...', but the output 'i' has no '...' to receive them",
    );
}

#[test]
fn operand_count_differs_from_rank_count() {
    let spec = Spec::parse("ij,jk").unwrap();
    let e = Equation::from_spec(&spec, &[2]).unwrap_err();
    assert_eq!(
        e.message(),
        "the subscripts 'ij,jk' name 2 operands, but 1 was given"
    );
}

#[test]
fn one_label_two_sizes() {
    shape_error(
        "ij,jk",
        &[&[2, 4], &[5, 3]],
        "operand 1 has size 5 for label 'j', but operand 0 has size 4",
    );
    // The operand that fixed the size is named even after a size-1 operand.
    shape_error(
        "j,j,j",
        &[&[1], &[4], &[5]],
        "operand 2 has size 5 for label 'j', but operand 1 has size 4",
    );
}

#[test]
fn ellipsis_dimensions_that_do_not_broadcast() {
    shape_error(
        "...i,...i",
        &[&[2, 3], &[4, 3]],
        "operand 1 has size 4 for '...' dimension 0, but operand 0 has size 2",
    );
}

#[test]
fn diagonal_axes_of_different_sizes() {
    shape_error(
        "ii->i",
        &[&[3, 1]],
        "operand 0 has sizes 3 and 1 for the repeated label 'i' (axes 0 and 1); \
         the axes of a diagonal must have equal sizes",
    );
}

#[test]
fn shapes_that_do_not_match_the_equation() {
    let eq = Equation::from_spec(&Spec::parse("ij").unwrap(), &[2]).unwrap();
    let e = eq.bind(&[&[2, 3, 4]]).unwrap_err();
    assert_eq!(
        e.message(),
        "operand 0 has shape [2, 3, 4] (3 dimensions), but its subscripts expect 2"
    );
    let e = eq.bind(&[&[2, 3], &[1]]).unwrap_err();
    assert_eq!(
        e.message(),
        "the equation has 1 operands, but 2 shapes were given"
    );
}

#[test]
fn reference_rejects_strides_outside_the_buffer() {
    let data = [1.0; 6];
    let e = einsum_reference_f64("ij->", &[(&data, &[2, 3], &[3, 2], 0)]).unwrap_err();
    assert!(matches!(e, Error::Index { .. }));
    assert_eq!(
        e.message(),
        "operand 0 with shape [2, 3], strides [3, 2] and offset 0 addresses elements 0..=7, \
         outside its buffer of 6"
    );
    let e = einsum_reference_f64("i->", &[(&data, &[3], &[-1], 1)]).unwrap_err();
    assert!(matches!(e, Error::Index { .. }));
}

#[test]
fn reference_rejects_a_stride_count_that_differs_from_the_rank() {
    let data = [1.0; 6];
    let e = einsum_reference_f64("ij", &[(&data, &[2, 3], &[3], 0)]).unwrap_err();
    assert_eq!(e.message(), "operand 0 has shape [2, 3] but 1 strides");
}

#[test]
fn reference_reports_parse_errors_with_the_operand_count() {
    let data = [1.0; 6];
    let e = einsum_reference_f64("ij,jk", &[(&data, &[2, 3], &[3, 1], 0)]).unwrap_err();
    assert!(matches!(e, Error::Parse { column: 2, .. }));
}

#[test]
fn the_leftmost_problem_is_reported() {
    let m = format!("invalid character '#' in the subscripts; {LETTERS}");
    parse_error("i#-", None, 1, &m);
    parse_error(
        "ij->k#",
        None,
        4,
        "output label 'k' does not appear in any input",
    );
    parse_error(
        "i..,j->->",
        None,
        1,
        "'..' in operand 0 is not an ellipsis; write '...' (three dots)",
    );
}
