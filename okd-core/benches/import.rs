//! Time and peak memory to import the ocp-build-data 4.22 branch of the shared corpus and plan
//! the result offline. `cargo bench -p okd-core --bench import` (needs OKD_SHARED).
//! Without `--bench` (as under `cargo test --all-targets`) it imports once and exits.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use okd_core::{
    doozer::{ImportOptions, import},
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, plan},
    source::{SourceOptions, read_sources},
};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        println!("import bench: skipping, OKD_SHARED is unset (it points at the shared corpus)");
        return;
    };
    let branch = PathBuf::from(shared).join("corpus/ocp-build-data/openshift-4.22");
    let cache = std::env::temp_dir().join(format!("okd-import-bench-{}", std::process::id()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let options = ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let once = || {
        let started = Instant::now();
        let imported = import(&branch, &options).expect("import 4.22");
        let after_import = started.elapsed();
        let release = load_str(&branch.join("release.yaml"), &imported.manifest, &LoadOptions::default())
            .expect("load");
        let sources = runtime
            .block_on(read_sources(
                &release,
                &SourceOptions { offline: true, cache_dir: cache.clone(), jobs: 4 },
            ))
            .expect("sources");
        let planned = plan(Arc::new(release), &sources, &PlanOptions::default()).expect("plan");
        (after_import, started.elapsed(), planned.components.len())
    };
    let (_, _, components) = once();
    if !std::env::args().any(|a| a == "--bench") {
        println!("import bench smoke: 4.22 imported and planned, {components} components");
        return;
    }
    let (mut imports, mut totals) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(3);
    while imports.len() < 10 || Instant::now() < deadline {
        let (i, t, _) = once();
        imports.push(i);
        totals.push(t);
    }
    imports.sort();
    totals.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "import 4.22 (okd) + plan offline: {components} components, {} runs; import median {:.1} ms; \
         import + load + plan median {:.1} ms, min {:.1} ms; peak RSS {:.1} MiB",
        totals.len(),
        ms(imports[imports.len() / 2]),
        ms(totals[totals.len() / 2]),
        ms(totals[0]),
        peak_rss_mib()
    );
}
