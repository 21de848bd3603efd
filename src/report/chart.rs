//! Line charts as inline SVG, drawn with plotters' SVG backend (no fonts
//! loaded, no scripts): the HTML report stays one self-contained file.
//!
//! A chart has a title, axis titles, its lines (with a dot at each point
//! when they are few, so a line of one day still shows), dashed horizontal reference lines
//! such as a target, vertical marks such as alerts, and a legend in its own
//! strip under the plot, where it covers nothing.

use plotters::prelude::*;

/// One line of a chart: a name for the legend, its points (x in Unix
/// seconds) and its colour.
pub struct Line<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

pub const BLUE_LINE: RGBColor = RGBColor(31, 119, 180);
pub const RED_MARK: RGBColor = RGBColor(214, 39, 40);
/// The dashed reference lines (a target, zero budget).
pub const TARGET_LINE: RGBColor = RGBColor(255, 127, 14);

/// Everything one chart shows.
pub struct Chart<'a> {
    pub title: &'a str,
    /// What the x axis measures, with its time zone ("time (JST)").
    pub x_title: &'a str,
    pub y_title: &'a str,
    pub lines: &'a [Line<'a>],
    /// Dashed horizontal lines at a y value: (legend name, y).
    pub references: &'a [(&'a str, f64)],
    /// Vertical marks (Unix seconds), named `mark_name` in the legend.
    pub marks: &'a [f64],
    pub mark_name: &'a str,
    /// The x range, Unix seconds.
    pub x: (f64, f64),
    pub x_fmt: &'a dyn Fn(&f64) -> String,
    pub y_fmt: &'a dyn Fn(&f64) -> String,
}

/// The chart as an SVG document.
pub fn draw(chart: &Chart<'_>) -> String {
    let mut svg = String::new();
    // Drawing into a string cannot fail for I/O reasons; a degenerate range
    // is widened below, so an error here means nothing to draw.
    let _ = draw_into(&mut svg, chart);
    svg
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 300;
const LEGEND_HEIGHT: u32 = 30;
const MAX_DOTS: usize = 62;

fn draw_into(svg: &mut String, c: &Chart<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let ys = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(c.references.iter().map(|r| r.1));
    let (mut y0, mut y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-6);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (x0, x1) = c.x;
    let x1 = if x1 > x0 { x1 } else { x0 + 60.0 };
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_vertically(HEIGHT - LEGEND_HEIGHT);
    let mut chart = ChartBuilder::on(&plot)
        .caption(c.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(c.x_fmt)
        .y_label_formatter(c.y_fmt)
        .x_desc(c.x_title)
        .y_desc(c.y_title)
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let mut entries: Vec<(String, ShapeStyle, bool)> = Vec::new();
    for &(name, y) in c.references {
        let style = TARGET_LINE.stroke_width(2);
        // Dashes of 1/80 of the range, as many gaps.
        let step = (x1 - x0) / 80.0;
        chart.draw_series((0..80).step_by(2).map(|k| {
            let a = x0 + step * f64::from(k);
            PathElement::new(vec![(a, y), (a + step, y)], style)
        }))?;
        entries.push((name.to_string(), style, true));
    }
    for l in c.lines {
        let style = l.color.stroke_width(2);
        chart.draw_series(LineSeries::new(l.points.iter().copied(), style))?;
        // Dots where points are few and far apart (days), not on a line of
        // one point a minute.
        if l.points.len() <= MAX_DOTS {
            chart.draw_series(
                l.points
                    .iter()
                    .map(|&p| Circle::new(p, 3, l.color.filled())),
            )?;
        }
        entries.push((l.name.to_string(), style, false));
    }
    if !c.marks.is_empty() {
        let style = RED_MARK.stroke_width(2);
        chart.draw_series(
            c.marks
                .iter()
                .map(|&m| PathElement::new(vec![(m, y0), (m, y1)], style)),
        )?;
        entries.push((c.mark_name.to_string(), style, false));
    }
    draw_legend(&legend, &entries)?;
    root.present()?;
    Ok(())
}

/// The legend in its strip, entries side by side from the left of the
/// plot. Text widths are estimated: wide (CJK) characters count double.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, ShapeStyle, bool)],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let y = (LEGEND_HEIGHT / 2) as i32;
    let mut x = 96;
    for (name, style, dashed) in entries {
        let segments: Vec<(i32, i32)> = if *dashed {
            vec![(x, x + 6), (x + 10, x + 16), (x + 20, x + 26)]
        } else {
            vec![(x, x + 26)]
        };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], *style))?;
        }
        area.draw(&Text::new(
            name.clone(),
            (x + 32, y - 7),
            ("sans-serif", 13).into_font(),
        ))?;
        let units: i32 = name
            .chars()
            .map(|ch| if ch.is_ascii() { 7 } else { 13 })
            .sum();
        x += 32 + units + 24;
    }
    Ok(())
}
