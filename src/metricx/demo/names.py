"""Names, tracking templates and creative labels the demo entity trees are built from."""

# Names use the en dash that ad managers and shops show, on purpose.
# ruff: noqa: RUF001

DROP_CAMPAIGN_NAME = "Prospecting – Broad – US"
STAR_CAMPAIGN_NAME = "Shopping – Best Sellers"

CAMPAIGN_NAMES = {
    "meta": (
        DROP_CAMPAIGN_NAME,
        "Retargeting – DPA",
        "Advantage+ Shopping – {geo}",
        "Prospecting – Lookalike 1% – {geo}",
        "Creative Testing – UGC",
        "Retargeting – Site Visitors 30d",
        "Prospecting – Interest Stack – {geo}",
        "Retention – Past Purchasers",
        "Catalog – Best Sellers",
        "Sale – Seasonal Promo",
    ),
    "google": (
        STAR_CAMPAIGN_NAME,
        "Performance Max – All Products",
        "Search – Brand – Exact",
        "Search – Non-Brand – Category",
        "Shopping – Clearance",
        "Performance Max – New Customers",
        "Search – Competitors",
        "YouTube – Awareness",
    ),
    "tiktok": (
        "Spark Ads – Creators",
        "Prospecting – Broad – {geo} (TikTok)",
        "Catalog – Video Shopping Ads",
        "Retargeting – Engagers 14d",
    ),
}
ADSET_NAMES = {
    "meta": (
        "Broad – 18-65+",
        "Lookalike 1% – Purchasers",
        "Lookalike 3% – Add to Cart",
        "Interests – Stack A",
        "Women 25–44",
        "Men 25–54",
        "Advantage+ Audience",
        "Website Visitors 30d",
    ),
    "google": ("All Products", "Top Sellers", "Generic – Phrase", "Brand – Exact", "Category"),
    "tiktok": ("Broad – 18-34", "Interest – Lifestyle", "Creators – Spark", "Engagers 30d"),
}
AD_FORMATS = {
    "meta": ("UGC – {who} – v{n}", "Static – {angle}", "Carousel – {angle}", "Video 15s – {angle}"),
    "google": ("RSA – {angle}", "Product Ads – {angle}", "Responsive Display – {angle}"),
    "tiktok": ("Spark – @{who} – v{n}", "In-Feed – {angle}", "TopView – {angle}"),
}
CREATORS = ("maya.makes", "jonas", "the_daily_kit", "lena", "sam.outdoors", "priya", "theo")
ANGLES = ("Benefits", "Social Proof", "Free Shipping", "New Arrivals", "Bundle", "Founder Story")
TRACKING = {
    "meta": "utm_source=facebook&utm_medium=paid_social&utm_campaign={{campaign.id}}"
    "&utm_content={{ad.id}}",
    "google": "{lpurl}?utm_source=google&utm_medium=cpc&utm_campaign={campaignid}"
    "&utm_content={creative}&gclid={gclid}",
    "tiktok": "utm_source=tiktok&utm_medium=paid_social&utm_campaign=__CAMPAIGN_ID__"
    "&utm_content=__CID__",
}
