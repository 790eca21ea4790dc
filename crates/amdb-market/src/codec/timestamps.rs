//! Timestamp column: first value, then run-length encoded deltas.
//!
//! ```text
//! i64 LE          ts[0]
//! repeat:         until runs cover rows-1 deltas exactly
//!   uvarint       run length r >= 1
//!   uvarint       zigzag(delta), delta = ts[i] - ts[i-1] (wrapping)
//! ```
//!
//! A run of equal deltas is a run of zero delta-of-deltas, so regular bars cost one run
//! (a few bytes per chunk) and each gap or irregular step costs about two runs. Wrapping
//! arithmetic makes the codec total: any i64 sequence, including i64::MIN/MAX neighbours,
//! roundtrips.

use super::varint::{put_uvarint, unzigzag, zigzag};
use super::{data_err, CodecError, Problem, Reader};

pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    let Some((&first, _)) = ts.split_first() else {
        return;
    };
    out.extend_from_slice(&first.to_le_bytes());
    let mut i = 1;
    while i < ts.len() {
        let delta = ts[i].wrapping_sub(ts[i - 1]);
        let mut j = i + 1;
        while j < ts.len() && ts[j].wrapping_sub(ts[j - 1]) == delta {
            j += 1;
        }
        put_uvarint(out, (j - i) as u64);
        put_uvarint(out, zigzag(delta));
        i = j;
    }
}

/// Decodes exactly `out.len()` timestamps; `data` must hold nothing more.
pub fn decode_timestamps(data: &[u8], out: &mut [i64]) -> Result<(), CodecError> {
    decode_timestamps_checked(data, out).map(|_| ())
}

/// As `decode_timestamps`, and also says whether the values are strictly ascending without
/// overflow — checked per run, so the chunk decoder gets it without another pass.
pub(crate) fn decode_timestamps_checked(data: &[u8], out: &mut [i64]) -> Result<bool, CodecError> {
    let mut r = Reader::new(data);
    let Some((first, rest)) = out.split_first_mut() else {
        r.finish()?;
        return Ok(true);
    };
    let mut prev = r.u64_le()? as i64;
    *first = prev;
    let mut ascending = true;
    let mut filled = 0;
    while filled < rest.len() {
        let at = r.pos();
        let run = r.uvarint()?;
        let left = (rest.len() - filled) as u64;
        if run == 0 {
            return Err(data_err(at, Problem::EmptyRun));
        }
        if run > left {
            return Err(data_err(at, Problem::Run { run, left }));
        }
        let delta = unzigzag(r.uvarint()?);
        let run = run as usize;
        // The wrapping delta is the true step mod 2^64. Read as unsigned it is the step of
        // an ascending run (which may exceed i64::MAX, e.g. from -7e18 to 9e18), so the
        // run ascends iff that step is nonzero and the run does not pass i64::MAX.
        let step = i128::from(delta as u64);
        ascending &= step != 0 && i128::from(prev) + step * run as i128 <= i128::from(i64::MAX);
        for (k, slot) in rest[filled..filled + run].iter_mut().enumerate() {
            *slot = prev.wrapping_add(delta.wrapping_mul(k as i64 + 1));
        }
        prev = rest[filled + run - 1];
        filled += run;
    }
    r.finish()?;
    Ok(ascending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(ts: &[i64]) -> usize {
        let mut buf = Vec::new();
        encode_timestamps(ts, &mut buf);
        let mut out = vec![0; ts.len()];
        let asc = decode_timestamps_checked(&buf, &mut out).unwrap();
        assert_eq!(out, ts);
        assert_eq!(asc, ts.windows(2).all(|w| w[0] < w[1]));
        buf.len()
    }

    #[test]
    fn regular_bars_cost_a_handful_of_bytes() {
        let step = 15 * 60 * 1_000_000_000i64;
        let ts: Vec<i64> = (0..32768)
            .map(|i| 1_600_000_000_000_000_000 + i * step)
            .collect();
        assert!(roundtrip(&ts) <= 24);
        // A weekend gap adds two runs.
        let mut gapped = ts.clone();
        for t in &mut gapped[20000..] {
            *t += 2 * 86_400_000_000_000;
        }
        assert!(roundtrip(&gapped) <= 40);
    }

    #[test]
    fn extremes_roundtrip() {
        roundtrip(&[]);
        roundtrip(&[i64::MIN]);
        roundtrip(&[i64::MIN, i64::MAX, i64::MIN, 0, -1, i64::MAX]);
        roundtrip(&[i64::MAX - 2, i64::MAX - 1, i64::MAX]);
        roundtrip(&[i64::MIN, i64::MIN + 1, i64::MAX]);
    }

    #[test]
    fn overflowing_run_is_not_ascending() {
        // Two steps of 2^62 from 2^62 pass i64::MAX: wraps, so must not count as ascending.
        let mut buf = (1i64 << 62).to_le_bytes().to_vec();
        put_uvarint(&mut buf, 2);
        put_uvarint(&mut buf, zigzag(1 << 62));
        let mut out = [0; 3];
        assert_eq!(decode_timestamps_checked(&buf, &mut out), Ok(false));
    }

    #[test]
    fn malformed_runs_are_errors() {
        let mut buf = 0i64.to_le_bytes().to_vec();
        buf.extend([5, 2]); // run 5 > 2 rows left
        let mut out = [0; 3];
        let e = decode_timestamps(&buf, &mut out).unwrap_err();
        assert_eq!(e.problem, Problem::Run { run: 5, left: 2 });
        assert_eq!(e.offset, 8);
        buf[8] = 0;
        assert_eq!(
            decode_timestamps(&buf, &mut out).unwrap_err().problem,
            Problem::EmptyRun
        );
        assert!(decode_timestamps(&buf[..5], &mut out).is_err());
        let mut buf = 0i64.to_le_bytes().to_vec();
        buf.extend([2, 2, 0]);
        assert_eq!(
            decode_timestamps(&buf, &mut out).unwrap_err().problem,
            Problem::Trailing(1)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_i64_roundtrip(ts in proptest::collection::vec(any::<i64>(), 0..300)) {
            roundtrip(&ts);
        }

        #[test]
        fn mostly_regular_roundtrip(
            start in any::<i64>(),
            steps in proptest::collection::vec(prop_oneof![9 => Just(900i64), 1 => any::<i64>()], 0..300),
        ) {
            let mut ts = vec![start];
            for s in steps {
                let next = ts[ts.len() - 1].wrapping_add(s);
                ts.push(next);
            }
            roundtrip(&ts);
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64), n in 0usize..50) {
            let mut out = vec![0; n];
            let _ = decode_timestamps(&data, &mut out);
        }
    }
}
