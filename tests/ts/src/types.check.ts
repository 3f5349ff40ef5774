// Type-level tests: compiled by `tsc --strict`, never run. Each `@ts-expect-error` must
// meet an error, or the compiler fails ("Unused '@ts-expect-error' directive"): the
// TypeScript twin of the Rust trybuild tests.
import {
  calculateCost,
  getModel,
  validateParams,
  type ModelId,
  type ParamsFor,
  type ResolvedParams,
  type SeedanceV1LiteParams,
} from "../../../generated/ts/index.js";

export function typeTests(): void {
  // Valid params compile.
  calculateCost("seedance_v1_lite", { prompt: "Ocean waves", resolution: "1080p", duration: 10 });
  const ok: ParamsFor<"seedance_v1_lite"> = { prompt: "x", camera_fixed: true, seed: 7 };
  const same: SeedanceV1LiteParams = ok;
  calculateCost("gpt_image_1", { prompt: "A cat", quality: "high", n: 2 });

  // A wrong param name.
  // @ts-expect-error `resolutoin` is not a param of seedance_v1_lite
  calculateCost("seedance_v1_lite", { prompt: "x", resolutoin: "720p" });

  // A wrong enum value.
  // @ts-expect-error "4k" is not one of "480p" | "720p" | "1080p"
  calculateCost("seedance_v1_lite", { prompt: "x", resolution: "4k" });

  // A value outside an integer param's fixed set.
  // @ts-expect-error duration is 5 | 10
  calculateCost("seedance_v1_lite", { prompt: "x", duration: 7 });

  // A missing required param.
  // @ts-expect-error `prompt` is required
  calculateCost("seedance_v1_lite", { resolution: "720p" });

  // A param of another model.
  // @ts-expect-error gpt_image_1 has no `duration`
  calculateCost("gpt_image_1", { prompt: "x", duration: 5 });

  // The wrong type.
  // @ts-expect-error camera_fixed is a boolean
  const wrongType: SeedanceV1LiteParams = { prompt: "x", camera_fixed: "yes" };

  // An unknown model id.
  // @ts-expect-error no such model
  getModel("seedance_v9");

  // Metadata keeps its literal types.
  const mode: "webhook" = getModel("seedance_v1_lite").mode;
  const enabled: false = getModel("kling_v2_master_text_to_video").enabled;

  // Validated params have every default filled in.
  const checked = validateParams("seedance_v1_lite", { prompt: "x" });
  if (checked.ok) {
    const resolution: "480p" | "720p" | "1080p" = checked.params.resolution;
    const filled: ResolvedParams<"seedance_v1_lite"> = checked.params;
    // @ts-expect-error `seed` has no default: it may be absent
    const seed: number = checked.params.seed;
    void [resolution, filled, seed];
  }

  // A one_of takes any of its options: a preset or a custom size.
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: "square_hd" });
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: { width: 1024, height: 768 } });
  // @ts-expect-error "square_xl" is not a preset
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: "square_xl" });
  // @ts-expect-error a custom size needs its height
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: { width: 1024 } });
  // @ts-expect-error a custom size has no depth
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: { width: 1024, height: 768, depth: 1 } });
  // @ts-expect-error a number is none of the options
  calculateCost("fal_flux_schnell", { prompt: "x", image_size: 1024 });

  // A dynamic id narrows nothing but still type-checks against the union.
  const dynamic: ModelId = "nano_banana";
  void validateParams(dynamic, {});

  void [same, wrongType, mode, enabled];
}
