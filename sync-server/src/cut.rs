//! A simple geographic turf cut (the quality cut along streets is issue 4): recursive median splits
//! on the longer side of the bounding box until each part holds at most `target` buildings.
//! Buildings of one street side tend to stay together because they are close; balanced within a
//! factor of two of the target by construction.

/// `(index, lat, lon)` in, groups of indices out, in a stable order.
pub fn cut(points: &[(usize, f64, f64)], target: usize) -> Vec<Vec<usize>> {
    let weighted: Vec<(usize, f64, f64, u32)> = points.iter().map(|&(i, a, b)| (i, a, b, 1)).collect();
    cut_weighted(&weighted, target as u64)
}

/// Like [`cut`], with a weight per point (its doors): each part holds at most `target` weight,
/// unless one point alone weighs more.
pub fn cut_weighted(points: &[(usize, f64, f64, u32)], target: u64) -> Vec<Vec<usize>> {
    let target = target.max(1);
    let mut out = Vec::new();
    let mut stack = vec![points.to_vec()];
    while let Some(mut part) = stack.pop() {
        let total: u64 = part.iter().map(|p| u64::from(p.3)).sum();
        if total <= target || part.len() == 1 {
            if !part.is_empty() {
                part.sort_by_key(|p| p.0);
                out.push(part.into_iter().map(|p| p.0).collect());
            }
            continue;
        }
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(_, lat, lon, _) in &part {
            min_lat = min_lat.min(lat);
            max_lat = max_lat.max(lat);
            min_lon = min_lon.min(lon);
            max_lon = max_lon.max(lon);
        }
        let kx = ((min_lat + max_lat) / 2.0).to_radians().cos();
        let by_lon = (max_lon - min_lon) * kx > (max_lat - min_lat);
        if by_lon {
            part.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        } else {
            part.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        }
        // Split so that both halves are whole multiples of the target where possible.
        let parts = total.div_ceil(target);
        let goal = (parts / 2) * total / parts;
        let (mut acc, mut left) = (0u64, 0usize);
        while left < part.len() - 1 && acc + u64::from(part[left].3) <= goal.max(1) {
            acc += u64::from(part[left].3);
            left += 1;
        }
        let right = part.split_off(left.max(1));
        stack.push(right);
        stack.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_once_and_no_part_over_target() {
        let pts: Vec<(usize, f64, f64)> =
            (0..1000).map(|i| (i, 47.2 + (i % 37) as f64 * 0.0003, -1.55 + (i / 37) as f64 * 0.0004)).collect();
        let parts = cut(&pts, 80);
        let mut all: Vec<usize> = parts.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert!(
            parts.iter().all(|p| p.len() <= 80 && p.len() >= 40),
            "{:?}",
            parts.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert_eq!(parts.len(), 1000usize.div_ceil(80));
    }
}
