//! SDP offers handed to the media engine (what a `call.create`/`call.answer` carries): answered
//! or refused, never a panic or a wedged engine.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

struct Engine {
    runtime: tokio::runtime::Runtime,
    engine: ds_media::MediaEngine,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let engine = runtime.block_on(async {
            let (engine, events) = ds_media::MediaEngine::start([127, 0, 0, 1].into()).expect("engine starts");
            std::mem::forget(events);
            engine
        });
        Engine { runtime, engine }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = std::str::from_utf8(data) else { return };
    let Engine { runtime, engine } = engine();
    runtime.block_on(async {
        if let Ok((leg, _answer)) = engine.answer_offer(offer).await {
            engine.close(leg).await.expect("an answered leg closes");
        }
    });
});
