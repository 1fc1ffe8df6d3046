"""The image models Easel knows: what each can do, what it costs, and when each provider stops
serving it. Data only: a correction is one line, with its source in a comment.

Sources, in order of trust: the installed `openai` package (3.57: `types/image_model.py`,
`types/image_generate_params.py`, `types/image_edit_params.py`), OpenAI's own pages
(developers.openai.com deprecations and model pages), then third-party pages, named where used.
A model missing here still works: it is offered the standard sizes and charged at the dearest
known prices (`bot.domain.pricing`), and `python -m bot check` says so.
"""

from __future__ import annotations

from datetime import date

from bot.domain.model_specs import Availability, FixedSizes, ModelSpec, Prices, SizeRule

# What a new installation uses when IMAGE_MODEL is not set.
DEFAULT_MODELS = {
    # A current model (not on OpenAI's deprecations page, 2026-11-30) and the nearest to
    # gpt-image-1-mini in price: medium ~$0.013 against mini's $0.011 (prices below).
    "openai": "gpt-image-2.5-flare",
    # On Azure IMAGE_MODEL names the model of a deployment; mini deployments stay to 2027-04-07.
    "azure": "gpt-image-1-mini",
}
WARN_DAYS_BEFORE_SHUTDOWN = 30

STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")  # every GPT image model (image_generate_params.py)
FIXED = FixedSizes(sizes=STANDARD_SIZES)
# image_generate_params.py `size`: gpt-image-2 and the 2.5 family take WIDTHxHEIGHT, both sides divisible
# by 16, ratio 1:3 to 3:1, at most 3840x2160, experimental above 2560x1440.
ANY_SIZE = SizeRule(
    multiple=16,
    min_ratio=1 / 3,
    max_ratio=3.0,
    max_edge=3840,
    max_pixels=3840 * 2160,
    # "total pixels 0.65MP-8.3MP": docs.apiyi.com gpt-image-2 launch (2026-04); the SDK says only "pixel limits"
    min_pixels=655_360,
    experimental_above=2560 * 1440,
    suggested=(*STANDARD_SIZES, "1536x864", "864x1536", "2048x2048", "2560x1440", "1440x2560"),
)
SDK = "openai 3.57 types/image_generate_params.py"

# OpenAI's deprecations page (developers.openai.com/api/docs/deprecations, read 2026-11-30): announced
# 2026-06-02, shut down 2026-12-01, replaced by gpt-image-2.6-sunburst or gpt-image-2.6-flare.
DECEMBER_2026 = Availability(
    announced=date(2026, 6, 2),
    shutdown=date(2026, 12, 1),
    replacements=("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"),
    source="developers.openai.com/api/docs/deprecations (2026-11-30)",
)
CURRENT = Availability(source="not on developers.openai.com/api/docs/deprecations (2026-11-30)")

# USD per 1M tokens text in / image in / image out; per image (square, other) by quality.
MINI_PRICES = Prices(
    text_input=2.0,
    image_input=2.5,
    image_output=8.0,
    per_image={"low": (0.005, 0.006), "medium": (0.011, 0.015), "high": (0.036, 0.052)},
    source="developers.openai.com/api/docs/models/gpt-image-1-mini (2026-11-24)",
)
GPT_IMAGE_1_PRICES = Prices(
    text_input=5.0,
    image_input=10.0,
    image_output=40.0,
    per_image={"low": (0.011, 0.016), "medium": (0.042, 0.063), "high": (0.167, 0.25)},
    source="developers.openai.com/api/docs/models/gpt-image-1 (2026-11-30)",
)
# Token rates: $5 / $8 / $30, the same for gpt-image-2 and the 2.5 family (apidog.com gpt-image-2.5 API
# guide, checked against OpenAI's pricing page 2026-09-09; xairouter.com gpt-image-2, from OpenAI's page).
IMAGE_OUTPUT_USD_PER_1M = 30.0
# Output tokens of a 1024x1024 image by quality, 2.5 Flare (s-anand.net "Quality levels of GPT Image 2.5
# Flare", 2026-09-26); other shapes are estimated at 1.5x, by area.
TOKENS_2_5 = {"low": 196, "medium": 439, "high": 1_756, "xhigh": 3_122, "max": 7_024}
# 2.6: low and medium use 3-4x the tokens of 2.5 (4x taken), high and above the same
# (docs.laozhang.ai gpt-image-2-6, measured 2026-11-05; docs.apiyi.com 2026-11-05: token rates unchanged).
TOKENS_2_6 = {**TOKENS_2_5, "low": 4 * 196, "medium": 4 * 439}


def _per_image(tokens: dict[str, int]) -> dict[str, tuple[float, float]]:
    return {
        quality: (count * IMAGE_OUTPUT_USD_PER_1M / 1e6, 1.5 * count * IMAGE_OUTPUT_USD_PER_1M / 1e6)
        for quality, count in tokens.items()
    }


GPT_IMAGE_2_5_PRICES = Prices(
    text_input=5.0,
    image_input=8.0,
    image_output=IMAGE_OUTPUT_USD_PER_1M,
    per_image=_per_image(TOKENS_2_5),
    source="apidog.com (2026-09-09) and s-anand.net (2026-09-26), from OpenAI's pricing page",
)
GPT_IMAGE_2_6_PRICES = Prices(
    text_input=5.0,
    image_input=8.0,
    image_output=IMAGE_OUTPUT_USD_PER_1M,
    per_image=_per_image(TOKENS_2_6),
    source="docs.laozhang.ai and docs.apiyi.com (2026-11-05)",
)


def _mini() -> ModelSpec:
    return ModelSpec(
        id="gpt-image-1-mini",
        sizes=FIXED,
        input_fidelity=("low",),  # image_edit_params.py: "gpt-image-1-mini supports only low"
        prices=MINI_PRICES,
        providers={
            "openai": DECEMBER_2026,
            # Azure keeps its gpt-image-1-mini deployments until 2027-04-07 (issue 17; PLATFORM_NOTES.md).
            "azure": Availability(shutdown=date(2027, 4, 7), source="Azure OpenAI model retirements (2026-11-30)"),
        },
    )


def _one_five(model: str) -> ModelSpec:
    return ModelSpec(
        id=model,
        sizes=FIXED,
        input_fidelity=("high", "low"),  # image_edit_params.py: "Supports high and low on gpt-image-1.5"
        prices=None,  # no first-party price in the stored sources: charged at the dearest known
        providers={"openai": DECEMBER_2026},
    )


def _gpt_image_2(model: str) -> ModelSpec:
    return ModelSpec(
        id=model,
        sizes=ANY_SIZE,
        transparency=False,  # image_generate_params.py: "in preview" for gpt-image-2; not offered until it is not
        prices=GPT_IMAGE_2_5_PRICES,  # same token rates as 2.5 (xairouter.com, from OpenAI's pricing page)
        providers={"openai": CURRENT},
    )


def _two_five(model: str) -> ModelSpec:
    return ModelSpec(
        id=model,
        sizes=ANY_SIZE,
        qualities=("low", "medium", "high", "xhigh", "max"),  # image_generate_params.py `quality`
        prices=GPT_IMAGE_2_5_PRICES,
        providers={"openai": CURRENT},
    )


def _two_six(model: str) -> ModelSpec:
    return ModelSpec(
        id=model,
        # The SDK names only 2 and 2.5 for free sizes and xhigh/max; OpenAI's 2.6 serves them too
        # (docs.laozhang.ai measured 3840x2160 on 2.6, 2026-11-05; wavespeed.ai: low..max, 1:3 to 3:1).
        sizes=ANY_SIZE,
        qualities=("low", "medium", "high", "xhigh", "max"),
        gif=True,  # image_generate_params.py `frame_count`; 2.6 makes GIFs (docs.laozhang.ai, 2026-11-05)
        svg=True,  # image_generate_params.py `svg`; 2.6 makes SVGs (docs.laozhang.ai, docs.apiyi.com, 2026-11-05)
        prices=GPT_IMAGE_2_6_PRICES,
        providers={"openai": CURRENT},
    )


CATALOG: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        _mini(),
        ModelSpec(
            id="gpt-image-1",
            sizes=FIXED,
            input_fidelity=("high", "low"),
            prices=GPT_IMAGE_1_PRICES,
            providers={
                "openai": Availability(  # image_model.py: "GPT Image 1 was shut down on October 23, 2026"
                    shutdown=date(2026, 10, 23),
                    replacements=("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"),
                    source=SDK.replace("image_generate_params", "image_model"),
                )
            },
        ),
        _one_five("gpt-image-1.5"),
        _one_five("gpt-image-1.5-2025-12-16"),
        _one_five("chatgpt-image-latest"),
        _gpt_image_2("gpt-image-2"),
        _gpt_image_2("gpt-image-2-2026-04-21"),
        _two_five("gpt-image-2.5-flare"),
        _two_five("gpt-image-2.5-flare-2026-09-08"),
        _two_five("gpt-image-2.5-sunburst"),
        _two_five("gpt-image-2.5-sunburst-2026-09-08"),
        _two_six("gpt-image-2.6-flare"),
        _two_six("gpt-image-2.6-sunburst"),
    )
}


def spec_for(model: str) -> ModelSpec:
    """The model's entry; a model Easel does not know gets the standard sizes and qualities
    (every GPT image model makes those) and no price."""
    return CATALOG.get(model) or ModelSpec(id=model, sizes=FIXED, providers={})
