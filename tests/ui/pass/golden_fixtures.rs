//! The golden crate of the fixture specs compiles and behaves: included here as a module.

#[path = "../../golden/rust/src/lib.rs"]
mod golden;

use golden::models::acme_collage::{Canvas, CanvasBackground, Frame, FrameCustom, FrameStyle, Layout};
use golden::models::acme_upscale::Type;
use golden::{AcmeCollage, AcmeCollageParams, AcmeUpscale, AcmeUpscaleParams, KieLikeVideo, KieLikeVideoParams};
use registry_core::model::{Model, RequestContext, TaskState};

fn main() {
    let ctx = RequestContext { uuid: "0f0e".into(), callback_url: Some("https://hook.test/cb".into()) };

    // Sync, array param, optional params dropped when absent, UUID in body and header.
    let collage = AcmeCollageParams::builder(vec!["https://a.test/1.png".to_owned(), "https://a.test/2.png".to_owned()])
        .layout(Layout::R16x9)
        .build()
        .unwrap();
    let request = AcmeCollage::submit_request(&collage, &ctx);
    let task = &request.body.as_ref().unwrap()[0];
    assert_eq!(task["id"], "0f0e");
    assert_eq!(task["layout"], "16:9");
    assert_eq!(task["spacing"], "0.5");
    assert_eq!(task["title"], "Collage of 16:9");
    assert!(task.get("caption").is_none() && task.get("tags").is_none());
    assert_eq!(request.headers, vec![("X-Request-Id".to_owned(), "collage-0f0e".to_owned())]);
    assert_eq!(AcmeCollage::cost(&collage).unwrap().to_string(), "1");
    // The object param at its default, its fields' defaults filled in; the one_of left out.
    assert_eq!(task["canvas"], serde_json::json!({"width": 1024, "height": 1024, "background": "white"}));
    assert!(task.get("frame").is_none());
    assert_eq!(collage.canvas().background, CanvasBackground::White);

    // An object priced by two of its fields; a one_of given as each of its options.
    let canvas = Canvas { width: 2048, height: 1024, background: CanvasBackground::Transparent, crop: None };
    let wide = AcmeCollageParams::builder(vec!["https://a.test/1.png".to_owned(), "https://a.test/2.png".to_owned()])
        .canvas(canvas.clone())
        .frame(FrameCustom { width: 4, color: "#ffffff".into() })
        .build()
        .unwrap();
    // 0.5 x 2 images x 2048/1024 x 1.5 (transparent).
    assert_eq!(AcmeCollage::cost(&wide).unwrap().to_string(), "3");
    let task = &AcmeCollage::submit_request(&wide, &ctx).body.unwrap()[0];
    assert_eq!(task["canvas"], serde_json::json!({"width": 2048, "height": 1024, "background": "transparent"}));
    assert_eq!(task["frame"], serde_json::json!({"width": 4, "color": "#ffffff"}));
    assert_eq!(wide.frame(), Some(&Frame::Custom(FrameCustom { width: 4, color: "#ffffff".into() })));
    for (frame, json) in [(Frame::from(8i64), serde_json::json!(8)), (Frame::from(FrameStyle::Thin), serde_json::json!("thin"))] {
        let params = AcmeCollageParams::builder(vec!["https://a.test/1.png".to_owned()]).frame(frame).build().unwrap();
        assert_eq!(AcmeCollage::submit_request(&params, &ctx).body.unwrap()[0]["frame"], json);
    }
    // A field's step is checked, named by its path.
    let off = AcmeCollageParams::builder(vec!["https://a.test/1.png".to_owned()])
        .canvas(Canvas { width: 1000, ..canvas })
        .build()
        .unwrap_err();
    assert_eq!(off.to_string(), "canvas.width must be a multiple of 256 (got 1000)");

    // Poll, a keyword-named param, a path placeholder percent-encoded, disabled.
    let upscale = AcmeUpscaleParams::new("https://a.test/x.png", Type::Art).unwrap();
    assert_eq!(upscale.r#type(), Type::Art);
    let request = AcmeUpscale::submit_request(&upscale, &ctx);
    assert_eq!(request.path, "/v2/upscale/art");
    assert_eq!(request.body.unwrap()["input"]["factor"], "2");
    assert_eq!(AcmeUpscale::poll_request("a/b c").unwrap().path, "/v2/jobs/a%2Fb%20c");
    assert!(!AcmeUpscale::INFO.enabled);
    let state = AcmeUpscale::read_task(&serde_json::json!({"job": {"status": "running"}})).unwrap();
    assert_eq!(state, TaskState::Processing);

    // Webhook, send_as string for an integer and a boolean.
    let video = KieLikeVideoParams::new("Waves").unwrap();
    let body = KieLikeVideo::submit_request(&video, &ctx).body.unwrap();
    assert_eq!(body["callBackUrl"], "https://hook.test/cb");
    assert_eq!(body["input"]["duration"], "5");
    assert_eq!(body["input"]["watermark"], "true");
    assert!(body["input"].get("seed").is_none());

    // The registry lists every model, disabled ones too.
    let ids: Vec<&str> = golden::MODELS.iter().map(|m| m.id).collect();
    assert_eq!(ids, ["acme_collage", "acme_upscale", "kie_like_video"]);
    assert!(!golden::by_id("acme_upscale").unwrap().enabled);
}
