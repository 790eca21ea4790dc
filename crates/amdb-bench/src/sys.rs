//! Process facts that benchmark results report.

/// Peak resident set size of this process in bytes (`VmHWM` in `/proc/self/status`), or the
/// current one (`VmRSS`) where the peak is not reported; 0 where neither is (non-Linux).
///
/// The peak covers the whole process lifetime, so in a run of several cases it never goes
/// down from one case to the next.
pub fn peak_rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status_field_kib(&status, "VmHWM:")
        .or_else(|| status_field_kib(&status, "VmRSS:"))
        .map_or(0, |kib| kib * 1024)
}

/// Current resident set size in bytes (`VmRSS`), 0 where unknown.
pub fn current_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| status_field_kib(&s, "VmRSS:"))
        .map_or(0, |kib| kib * 1024)
}

/// CPU time (user and system) the calling thread has used; zero where unknown.
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Parses a line like `VmHWM:     12345 kB`.
fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let s = "Name:\tamdb\nVmHWM:\t   2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(status_field_kib(s, "VmHWM:"), Some(2048));
        assert_eq!(status_field_kib(s, "VmRSS:"), Some(1024));
        assert_eq!(status_field_kib(s, "VmSwap:"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_own_rss() {
        assert!(peak_rss_bytes() > 0);
        assert!(current_rss_bytes() > 0);
        assert!(peak_rss_bytes() >= current_rss_bytes() / 2);
    }

    #[test]
    fn thread_cpu_time_advances() {
        let a = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_time() > a);
    }
}
