//! Line charts as inline SVG, drawn with plotters' SVG backend (no fonts
//! loaded, no scripts): the HTML report stays one self-contained file.

use plotters::prelude::*;

/// One line of a chart: a name for the legend, its points (x in Unix
/// seconds) and its colour.
pub struct Line<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

pub const BLUE_LINE: RGBColor = RGBColor(31, 119, 180);
pub const GREY_LINE: RGBColor = RGBColor(120, 120, 120);
pub const RED_MARK: RGBColor = RGBColor(214, 39, 40);

/// A chart of `lines` over `[x0, x1]`, with vertical marks at `marks` (Unix
/// seconds) named `mark_name` in the legend. `y_fmt` labels the y axis.
pub fn lines(
    title: &str,
    lines: &[Line<'_>],
    marks: &[f64],
    mark_name: &str,
    x: (f64, f64),
    y_fmt: &dyn Fn(&f64) -> String,
) -> String {
    let mut svg = String::new();
    // Drawing into a string cannot fail for I/O reasons; a degenerate range
    // is widened below, so an error here means nothing to draw.
    let _ = draw(&mut svg, title, lines, marks, mark_name, x, y_fmt);
    svg
}

fn draw(
    svg: &mut String,
    title: &str,
    lines: &[Line<'_>],
    marks: &[f64],
    mark_name: &str,
    (x0, x1): (f64, f64),
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), Box<dyn std::error::Error>> {
    let ys = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (mut y0, mut y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-6);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let x1 = if x1 > x0 { x1 } else { x0 + 60.0 };
    let root = SVGBackend::with_string(svg, (760, 260)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|x| {
            crate::time::format_rfc3339((*x * 1e9) as i64)[5..16].replace('T', " ")
        })
        .y_label_formatter(y_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for l in lines {
        let color = l.color;
        chart
            .draw_series(LineSeries::new(
                l.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(l.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    if !marks.is_empty() {
        chart
            .draw_series(
                marks
                    .iter()
                    .map(|&m| PathElement::new(vec![(m, y0), (m, y1)], RED_MARK.stroke_width(1))),
            )?
            .label(mark_name)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED_MARK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::LowerLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
