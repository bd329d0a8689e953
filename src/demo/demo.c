/*
 * demo.c - the synthetic store behind `segctl demo-data`.
 *
 * Each customer is drawn from a generator seeded by (seed, customer
 * number) alone, so a customer is the same whatever N is and the output
 * never depends on the order things are computed in.  A customer's orders
 * are gathered first (the customers export carries their totals), then
 * every row about that customer goes to the six files at once.
 *
 * The shapes, by customer archetype:
 *   subscriber   no order; signed up through a form
 *   one-time     one order, at any time in the last two years
 *   repeat       3-12 orders at their category's cycle
 *   heavy        10-25 orders, bigger baskets: the VIP tail
 *   wholesale    4-15 orders with bulk lines, tagged or tax exempt
 * About a third of buyers stopped ordering well past their cycle (the
 * lapsed), and a few percent left a cart in the last three days.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "csv.h"
#include "demo.h"

#define DAY		86400
#define HOUR		3600
#define MAX_ORDERS	25
#define MAX_LINES	3
#define NCAMPAIGNS	10		/* every 15 days, the last 5 months */
#define ORDER_BASE	1000		/* Shopify names start at #1001 */

enum demo_file { F_PRODUCTS, F_CUSTOMERS, F_ORDERS, F_EVENTS, F_CONSENT,
    F_ENGAGEMENT, F_COUNT };

static const char *const file_names[F_COUNT] = {
	"products.csv", "customers.csv", "orders.csv", "events.csv",
	"consent.csv", "engagement.csv"
};

enum category { CAT_COFFEE, CAT_TEA, CAT_SKINCARE, CAT_FURNITURE,
    CAT_ACCESSORIES, CAT_COUNT };

static const struct {
	const char	*name;		/* as events.csv writes it */
	const char	*type;		/* Shopify product Type */
	const char	*taxonomy;	/* Shopify Product Category */
	int		 cycle_days;	/* how often people rebuy */
	int		 weight;	/* share of favourites, percent */
} categories[CAT_COUNT] = {
	{ "coffee", "Coffee", "Food, Beverages & Tobacco > Beverages >"
	    " Coffee", 35, 35 },
	{ "tea", "Tea", "Food, Beverages & Tobacco > Beverages > Tea &"
	    " Infusions", 50, 20 },
	{ "skincare", "Skincare", "Health & Beauty > Personal Care >"
	    " Cosmetics > Skin Care", 80, 25 },
	{ "furniture", "Furniture", "Furniture > Tables", 400, 5 },
	{ "accessories", "Accessories", "Home & Garden > Kitchen & Dining",
	    150, 15 },
};

static const struct {
	const char	*handle, *title, *option, *sku;
	enum category	 cat;
	int		 price, cost;	/* USD cents */
} products[] = {
	{ "house-blend", "House Blend Coffee Beans", "1 kg", "COF-HB-1KG",
	    CAT_COFFEE, 2400, 900 },
	{ "house-blend", NULL, "250 g", "COF-HB-250", CAT_COFFEE, 850, 320 },
	{ "espresso-roast", "Espresso Roast", "1 kg", "COF-ES-1KG",
	    CAT_COFFEE, 2600, 1000 },
	{ "decaf-colombia", "Decaf Colombia", "500 g", "COF-DC-500",
	    CAT_COFFEE, 1400, 560 },
	{ "earl-grey", "Earl Grey, Loose Leaf", "100 g", "TEA-EG-100",
	    CAT_TEA, 950, 300 },
	{ "sencha", "Sencha \"Asahi\"", "100 g", "TEA-SN-100", CAT_TEA, 1200,
	    450 },
	{ "masala-chai", "Masala Chai", "250 g", "TEA-CH-250", CAT_TEA, 1100,
	    400 },
	{ "hydrating-serum", "Hydrating Serum", "30 ml", "SKN-SER-30",
	    CAT_SKINCARE, 3800, 900 },
	{ "daily-moisturiser", "Daily Moisturiser", "50 ml", "SKN-MOI-50",
	    CAT_SKINCARE, 2900, 700 },
	{ "clay-mask", "Clay Mask", "75 ml", "SKN-MSK-75", CAT_SKINCARE,
	    2200, 500 },
	{ "oak-coffee-table", "Oak Coffee Table", "Natural oak",
	    "FUR-TBL-OAK", CAT_FURNITURE, 48900, 21000 },
	{ "lounge-chair", "Lounge Chair", "Walnut", "FUR-CHR-LNG",
	    CAT_FURNITURE, 72900, 33000 },
	{ "pour-over-kettle", "Pour-Over Kettle", "1 l", "ACC-KET-1",
	    CAT_ACCESSORIES, 5900, 2200 },
	{ "ceramic-mug", "Ceramic Mug", "Black", "ACC-MUG-1-BLK",
	    CAT_ACCESSORIES, 1400, 400 },
	{ "ceramic-mug", NULL, "White", "ACC-MUG-1-WHT", CAT_ACCESSORIES,
	    1400, 400 },
	{ "tea-infuser", "Tea Infuser", "Steel", "ACC-INF-1",
	    CAT_ACCESSORIES, 750, 200 },
};
#define NPRODUCTS	(sizeof(products) / sizeof(products[0]))

static const struct {
	const char	*code, *currency, *city, *province, *zip;
	int		 rate_x100;	/* USD 1.00 in the currency, x100 */
	int		 weight;	/* percent */
	int		 tax_pct;	/* added on top (US, CA) */
} countries[] = {
	{ "US", "USD", "Portland", "OR", "97205", 100, 38, 8 },
	{ "CA", "CAD", "Ottawa", "ON", "K1P 1J1", 136, 10, 13 },
	{ "GB", "GBP", "Leeds", "", "LS1 4AP", 79, 15, 0 },
	{ "DE", "EUR", "Köln", "", "50667", 92, 10, 0 },
	{ "FR", "EUR", "Lyon", "", "69002", 92, 8, 0 },
	{ "IT", "EUR", "Bologna", "BO", "40121", 92, 5, 0 },
	{ "NL", "EUR", "Utrecht", "", "3511 AB", 92, 5, 0 },
	{ "AU", "AUD", "Melbourne", "VIC", "3000", 152, 9, 0 },
};
#define NCOUNTRIES	(sizeof(countries) / sizeof(countries[0]))

/* Display name and the ASCII form used in the email address. */
static const char *const first_names[][2] = {
	{ "Ann", "ann" }, { "Zoë", "zoe" }, { "Liam", "liam" },
	{ "Noah", "noah" }, { "Maya", "maya" }, { "Chloé", "chloe" },
	{ "Jürgen", "juergen" }, { "Sofia", "sofia" }, { "Luca", "luca" },
	{ "Amélie", "amelie" }, { "Oliver", "oliver" }, { "Priya", "priya" },
	{ "Kenji", "kenji" }, { "Fatima", "fatima" }, { "Mateo", "mateo" },
	{ "Grace", "grace" }, { "Ingrid", "ingrid" }, { "Omar", "omar" },
	{ "Siobhán", "siobhan" }, { "Ethan", "ethan" },
};
static const char *const last_names[][2] = {
	{ "Smith", "smith" }, { "Müller", "mueller" }, { "Rossi", "rossi" },
	{ "Dubois", "dubois" }, { "García", "garcia" }, { "Nguyen", "nguyen" },
	{ "O'Brien", "obrien" }, { "Jansen", "jansen" }, { "Kowalski",
	    "kowalski" }, { "Tanaka", "tanaka" }, { "Patel", "patel" },
	{ "Brown", "brown" }, { "Larsen", "larsen" }, { "Moreau", "moreau" },
	{ "Bianchi", "bianchi" }, { "Wilson", "wilson" },
};
static const char *const companies[][2] = {
	{ "Bean There Cafés Ltd", "beanthere-cafes.example" },
	{ "Leaf & Cup Tearooms", "leafandcup.example" },
	{ "Northside Office Supply, Inc.", "northside-supply.example" },
	{ "Hotel Aurora", "hotel-aurora.example" },
	{ "Studio Forma GmbH", "studioforma.example" },
};
static const char *const domains[] = {
	"example.com", "example.org", "example.net"
};
static const char *const campaign_names[] = {
	"newsletter", "new-arrivals", "flash-sale", "restock", "vip-preview"
};

/*
 * The two Shopify exports, column by column, in Shopify's order.  Rows are
 * built by column name and written whole, so every record has exactly
 * the header's fields.
 */
enum customer_col {
	C_ID, C_FIRST, C_LAST, C_EMAIL, C_ACCEPTS_EMAIL, C_COMPANY,
	C_ADDRESS1, C_ADDRESS2, C_CITY, C_PROVINCE, C_COUNTRY, C_ZIP,
	C_ADDRESS_PHONE, C_PHONE, C_ACCEPTS_SMS, C_TOTAL_SPENT,
	C_TOTAL_ORDERS, C_NOTE, C_TAX_EXEMPT, C_TAGS,
	NCUSTOMER_COLS
};

static const char *const customer_header[NCUSTOMER_COLS] = {
	[C_ID] = "Customer ID",
	[C_FIRST] = "First Name",
	[C_LAST] = "Last Name",
	[C_EMAIL] = "Email",
	[C_ACCEPTS_EMAIL] = "Accepts Email Marketing",
	[C_COMPANY] = "Default Address Company",
	[C_ADDRESS1] = "Default Address Address1",
	[C_ADDRESS2] = "Default Address Address2",
	[C_CITY] = "Default Address City",
	[C_PROVINCE] = "Default Address Province Code",
	[C_COUNTRY] = "Default Address Country Code",
	[C_ZIP] = "Default Address Zip",
	[C_ADDRESS_PHONE] = "Default Address Phone",
	[C_PHONE] = "Phone",
	[C_ACCEPTS_SMS] = "Accepts SMS Marketing",
	[C_TOTAL_SPENT] = "Total Spent",
	[C_TOTAL_ORDERS] = "Total Orders",
	[C_NOTE] = "Note",
	[C_TAX_EXEMPT] = "Tax Exempt",
	[C_TAGS] = "Tags",
};

enum order_col {
	O_NAME, O_EMAIL, O_STATUS, O_PAID_AT, O_FULFILLMENT,
	O_FULFILLED_AT, O_ACCEPTS, O_CURRENCY, O_SUBTOTAL, O_SHIPPING,
	O_TAXES, O_TOTAL, O_DISCOUNT, O_DISCOUNT_AMOUNT, O_SHIPPING_METHOD,
	O_CREATED, O_QUANTITY, O_LINE_NAME, O_LINE_PRICE,
	O_LINEITEM_COMPARE_AT_PRICE, O_LINE_SKU, O_LINE_SHIPPING,
	O_LINE_TAXABLE, O_LINE_FULFILLMENT, O_BILLING_NAME,
	O_BILLING_STREET, O_BILLING_ADDRESS1, O_BILLING_ADDRESS2,
	O_BILLING_COMPANY, O_BILLING_CITY, O_BILLING_ZIP,
	O_BILLING_PROVINCE, O_BILLING_COUNTRY, O_BILLING_PHONE,
	O_SHIPPING_NAME, O_SHIPPING_STREET, O_SHIPPING_ADDRESS1,
	O_SHIPPING_ADDRESS2, O_SHIPPING_COMPANY, O_SHIPPING_CITY,
	O_SHIPPING_ZIP, O_SHIPPING_PROVINCE, O_SHIPPING_COUNTRY,
	O_SHIPPING_PHONE, O_NOTES, O_NOTE_ATTRIBUTES, O_CANCELLED,
	O_PAYMENT, O_PAYMENT_REFERENCE, O_REFUNDED, O_VENDOR,
	O_OUTSTANDING_BALANCE, O_EMPLOYEE, O_LOCATION, O_DEVICE_ID, O_ID,
	O_TAGS, O_RISK_LEVEL, O_SOURCE, O_LINEITEM_DISCOUNT, O_TAX_1_NAME,
	O_TAX_1_VALUE, O_TAX_2_NAME, O_TAX_2_VALUE, O_TAX_3_NAME,
	O_TAX_3_VALUE, O_TAX_4_NAME, O_TAX_4_VALUE, O_TAX_5_NAME,
	O_TAX_5_VALUE, O_PHONE, O_RECEIPT_NUMBER, O_DUTIES,
	O_BILLING_PROVINCE_NAME, O_SHIPPING_PROVINCE_NAME, O_PAYMENT_ID,
	O_PAYMENT_TERMS_NAME, O_NEXT_PAYMENT_DUE_AT, O_PAYMENT_REFERENCES,
	NORDER_COLS
};

static const char *const order_header[NORDER_COLS] = {
	[O_NAME] = "Name",
	[O_EMAIL] = "Email",
	[O_STATUS] = "Financial Status",
	[O_PAID_AT] = "Paid at",
	[O_FULFILLMENT] = "Fulfillment Status",
	[O_FULFILLED_AT] = "Fulfilled at",
	[O_ACCEPTS] = "Accepts Marketing",
	[O_CURRENCY] = "Currency",
	[O_SUBTOTAL] = "Subtotal",
	[O_SHIPPING] = "Shipping",
	[O_TAXES] = "Taxes",
	[O_TOTAL] = "Total",
	[O_DISCOUNT] = "Discount Code",
	[O_DISCOUNT_AMOUNT] = "Discount Amount",
	[O_SHIPPING_METHOD] = "Shipping Method",
	[O_CREATED] = "Created at",
	[O_QUANTITY] = "Lineitem quantity",
	[O_LINE_NAME] = "Lineitem name",
	[O_LINE_PRICE] = "Lineitem price",
	[O_LINEITEM_COMPARE_AT_PRICE] = "Lineitem compare at price",
	[O_LINE_SKU] = "Lineitem sku",
	[O_LINE_SHIPPING] = "Lineitem requires shipping",
	[O_LINE_TAXABLE] = "Lineitem taxable",
	[O_LINE_FULFILLMENT] = "Lineitem fulfillment status",
	[O_BILLING_NAME] = "Billing Name",
	[O_BILLING_STREET] = "Billing Street",
	[O_BILLING_ADDRESS1] = "Billing Address1",
	[O_BILLING_ADDRESS2] = "Billing Address2",
	[O_BILLING_COMPANY] = "Billing Company",
	[O_BILLING_CITY] = "Billing City",
	[O_BILLING_ZIP] = "Billing Zip",
	[O_BILLING_PROVINCE] = "Billing Province",
	[O_BILLING_COUNTRY] = "Billing Country",
	[O_BILLING_PHONE] = "Billing Phone",
	[O_SHIPPING_NAME] = "Shipping Name",
	[O_SHIPPING_STREET] = "Shipping Street",
	[O_SHIPPING_ADDRESS1] = "Shipping Address1",
	[O_SHIPPING_ADDRESS2] = "Shipping Address2",
	[O_SHIPPING_COMPANY] = "Shipping Company",
	[O_SHIPPING_CITY] = "Shipping City",
	[O_SHIPPING_ZIP] = "Shipping Zip",
	[O_SHIPPING_PROVINCE] = "Shipping Province",
	[O_SHIPPING_COUNTRY] = "Shipping Country",
	[O_SHIPPING_PHONE] = "Shipping Phone",
	[O_NOTES] = "Notes",
	[O_NOTE_ATTRIBUTES] = "Note Attributes",
	[O_CANCELLED] = "Cancelled at",
	[O_PAYMENT] = "Payment Method",
	[O_PAYMENT_REFERENCE] = "Payment Reference",
	[O_REFUNDED] = "Refunded Amount",
	[O_VENDOR] = "Vendor",
	[O_OUTSTANDING_BALANCE] = "Outstanding Balance",
	[O_EMPLOYEE] = "Employee",
	[O_LOCATION] = "Location",
	[O_DEVICE_ID] = "Device ID",
	[O_ID] = "Id",
	[O_TAGS] = "Tags",
	[O_RISK_LEVEL] = "Risk Level",
	[O_SOURCE] = "Source",
	[O_LINEITEM_DISCOUNT] = "Lineitem discount",
	[O_TAX_1_NAME] = "Tax 1 Name",
	[O_TAX_1_VALUE] = "Tax 1 Value",
	[O_TAX_2_NAME] = "Tax 2 Name",
	[O_TAX_2_VALUE] = "Tax 2 Value",
	[O_TAX_3_NAME] = "Tax 3 Name",
	[O_TAX_3_VALUE] = "Tax 3 Value",
	[O_TAX_4_NAME] = "Tax 4 Name",
	[O_TAX_4_VALUE] = "Tax 4 Value",
	[O_TAX_5_NAME] = "Tax 5 Name",
	[O_TAX_5_VALUE] = "Tax 5 Value",
	[O_PHONE] = "Phone",
	[O_RECEIPT_NUMBER] = "Receipt Number",
	[O_DUTIES] = "Duties",
	[O_BILLING_PROVINCE_NAME] = "Billing Province Name",
	[O_SHIPPING_PROVINCE_NAME] = "Shipping Province Name",
	[O_PAYMENT_ID] = "Payment ID",
	[O_PAYMENT_TERMS_NAME] = "Payment Terms Name",
	[O_NEXT_PAYMENT_DUE_AT] = "Next Payment Due At",
	[O_PAYMENT_REFERENCES] = "Payment References",
};

struct rng {
	uint64_t	 s;
};

/* splitmix64: small, fast, and good enough for synthetic data. */
static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return n > 0 ? rng_next(r) % n : 0;
}

static int64_t
rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return hi > lo ? lo + (int64_t)rng_below(r, (uint64_t)(hi - lo + 1)) :
	    lo;
}

static int
rng_percent(struct rng *r, int pct)
{
	return (int)rng_below(r, 100) < pct;
}

struct line {
	size_t		 product;
	int64_t		 quantity;
	int64_t		 price;		/* cents, in the order currency */
};

struct order {
	uint64_t	 number;
	int64_t		 at;
	const char	*status;
	int64_t		 cancelled_at;
	int64_t		 subtotal, shipping, taxes, total, refunded;
	const char	*discount;
	int64_t		 discount_amount;
	struct line	 lines[MAX_LINES];
	int		 nlines;
};

enum archetype { A_SUBSCRIBER, A_ONE_TIME, A_REPEAT, A_HEAVY, A_WHOLESALE };

struct customer {
	uint64_t	 n;		/* 1-based */
	enum archetype	 kind;
	size_t		 country;
	enum category	 favourite;
	const char	*first, *last;
	char		 email[128];
	char		 phone[40];
	const char	*company;
	int		 tax_exempt;
	const char	*tags;
	int64_t		 since;		/* first seen */
	int		 email_state;	/* 0 never, 1 granted, 2 revoked */
	int64_t		 email_granted_at, email_revoked_at;
	int		 sms_state;
	int64_t		 sms_granted_at, sms_revoked_at;
	int		 engagement;	/* percent chance to open */
	struct order	 orders[MAX_ORDERS];
	int		 norders;
};

struct demo {
	const struct demo_params *p;
	FILE		*f[F_COUNT];
	uint64_t	 next_order;
	int64_t		 campaigns[NCAMPAIGNS];
};

/* Money as Shopify writes it, into a buffer of at least 24 bytes. */
static const char *
money(char *buf, int64_t cents)
{
	snprintf(buf, 24, "%s%lld.%02lld", cents < 0 ? "-" : "",
	    (long long)(llabs(cents) / 100), (long long)(llabs(cents) % 100));
	return buf;
}

static const char *
shopify_time(char *buf, int64_t t)
{
	time_t local = (time_t)(t - 5 * HOUR);
	struct tm tm;

	gmtime_r(&local, &tm);
	strftime(buf, 40, "%Y-%m-%d %H:%M:%S -0500", &tm);
	return buf;
}

/* One record: every column of the layout, NULL ones empty. */
static void
put_row(FILE *fp, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		csv_write_field(fp, v[i]);
	}
	fputc('\n', fp);
}

static void
put_iso_time(FILE *fp, int64_t t)
{
	char s[40];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(s, fp);
}

static void
write_products(struct demo *d)
{
	static const char *const header[] = {
		"Handle", "Title", "Body (HTML)", "Vendor", "Product Category",
		"Type", "Tags", "Published", "Option1 Name", "Option1 Value",
		"Variant SKU", "Variant Grams", "Variant Inventory Qty",
		"Variant Price", "Variant Compare At Price",
		"Variant Requires Shipping", "Variant Taxable", "Image Src",
		"Cost per item", "Status"
	};
	const char *v[sizeof(header) / sizeof(header[0])];
	char price[24], cost[24];
	size_t i;

	put_row(d->f[F_PRODUCTS], header, sizeof(header) / sizeof(header[0]));
	for (i = 0; i < NPRODUCTS; i++) {
		const int cat = products[i].cat;

		memset(v, 0, sizeof(v));
		v[0] = products[i].handle;
		/* a variant's row leaves the product's own fields empty */
		if (products[i].title != NULL) {
			v[1] = products[i].title;
			v[2] = "<p>Roasted, packed and shipped by us.</p>";
			v[3] = "Demo Goods";
			v[4] = categories[cat].taxonomy;
			v[5] = categories[cat].type;
			v[6] = "demo";
			v[7] = "TRUE";
			v[19] = "active";
		}
		v[8] = "Size";
		v[9] = products[i].option;
		v[10] = products[i].sku;
		v[11] = "500";
		v[12] = "100";
		v[13] = money(price, products[i].price);
		v[15] = "TRUE";
		v[16] = "TRUE";
		v[18] = money(cost, products[i].cost);
		put_row(d->f[F_PRODUCTS], v, sizeof(header) / sizeof(header[0]));
	}
}

static size_t
pick_weighted_country(struct rng *r)
{
	int roll = (int)rng_below(r, 100), acc = 0;
	size_t i;

	for (i = 0; i < NCOUNTRIES; i++) {
		acc += countries[i].weight;
		if (roll < acc)
			return i;
	}
	return 0;
}

static enum category
pick_category(struct rng *r)
{
	int roll = (int)rng_below(r, 100), acc = 0, i;

	for (i = 0; i < CAT_COUNT; i++) {
		acc += categories[i].weight;
		if (roll < acc)
			return (enum category)i;
	}
	return CAT_COFFEE;
}

/* A product of CAT, or any product now and then. */
static size_t
pick_product(struct rng *r, enum category cat)
{
	size_t i, n = 0, want;

	if (rng_percent(r, 20))
		return (size_t)rng_below(r, NPRODUCTS);
	for (i = 0; i < NPRODUCTS; i++)
		n += products[i].cat == cat;
	want = (size_t)rng_below(r, n);
	for (i = 0; i < NPRODUCTS; i++)
		if (products[i].cat == cat && want-- == 0)
			return i;
	return 0;
}

/* A valid phone for the country, as Shopify exports it. */
static void
make_phone(struct rng *r, const char *country, char *out, size_t len)
{
	static const int areas[] = { 212, 415, 617, 312, 512, 613, 416, 604 };
	int a = areas[rng_below(r, 8)], n = (int)rng_below(r, 100);

	if (strcmp(country, "US") == 0 || strcmp(country, "CA") == 0)
		snprintf(out, len, "'+1%d55501%02d", a, n);
	else if (strcmp(country, "GB") == 0)
		snprintf(out, len, "07700 900%03d", (int)rng_below(r, 1000));
	else if (strcmp(country, "DE") == 0)
		snprintf(out, len, "'+49151%08d", (int)rng_below(r, 100000000));
	else if (strcmp(country, "FR") == 0)
		snprintf(out, len, "06 %02d %02d %02d %02d", n,
		    (int)rng_below(r, 100), (int)rng_below(r, 100),
		    (int)rng_below(r, 100));
	else if (strcmp(country, "IT") == 0)
		snprintf(out, len, "'+393%02d%07d", n,
		    (int)rng_below(r, 10000000));
	else if (strcmp(country, "NL") == 0)
		snprintf(out, len, "'+316%08d", (int)rng_below(r, 100000000));
	else
		snprintf(out, len, "04%02d %03d %03d", n,
		    (int)rng_below(r, 1000), (int)rng_below(r, 1000));
}

static void
make_order(struct demo *d, struct rng *r, struct customer *c, int64_t at)
{
	struct order *o = &c->orders[c->norders++];
	const int rate = countries[c->country].rate_x100;
	int roll, i;

	memset(o, 0, sizeof(*o));
	o->number = ++d->next_order;
	o->at = at;
	o->nlines = 1 + (int)rng_below(r, c->kind == A_HEAVY ? 3 : 2);
	for (i = 0; i < o->nlines; i++) {
		struct line *l = &o->lines[i];

		l->product = pick_product(r, c->favourite);
		l->quantity = products[l->product].cat == CAT_FURNITURE ? 1 :
		    rng_range(r, 1, c->kind == A_HEAVY ? 4 : 2);
		if (c->kind == A_WHOLESALE && i == 0 &&
		    products[l->product].cat != CAT_FURNITURE)
			l->quantity = rng_range(r, 24, 120);
		l->price = (int64_t)products[l->product].price * rate / 100;
		o->subtotal += l->price * l->quantity;
	}
	if (rng_percent(r, 10)) {
		o->discount = c->norders == 1 ? "WELCOME10" : "SPRING10";
		o->discount_amount = o->subtotal / 10;
	}
	o->shipping = o->subtotal >= 5000 ? 0 : 590 * rate / 100;
	o->taxes = (o->subtotal - o->discount_amount) *
	    countries[c->country].tax_pct / 100;
	o->total = o->subtotal - o->discount_amount + o->shipping + o->taxes;

	roll = (int)rng_below(r, 100);
	o->status = "paid";
	if (roll < 3) {
		o->status = "refunded";
		o->refunded = o->total;
	} else if (roll < 6) {
		o->status = "partially_refunded";
		o->refunded = o->total / 3;
	} else if (roll < 7 && at > d->p->now - 7 * DAY) {
		o->status = "pending";
	} else if (roll < 8) {
		o->status = "voided";
		o->cancelled_at = at + 2 * HOUR;
	}
}

/* The customer's orders, oldest first, none after now. */
static void
make_orders(struct demo *d, struct rng *r, struct customer *c)
{
	const int64_t now = d->p->now, horizon = now - 3 * 365 * DAY;
	int64_t cycle = categories[c->favourite].cycle_days, last, at, gap;
	int64_t times[MAX_ORDERS];
	int n, i;

	switch (c->kind) {
	case A_SUBSCRIBER:
		return;
	case A_ONE_TIME:
		n = 1;
		break;
	case A_REPEAT:
		n = (int)rng_range(r, 3, 12);
		break;
	case A_HEAVY:
		n = (int)rng_range(r, 10, MAX_ORDERS);
		cycle = cycle * 2 / 3;
		break;
	default:
		n = (int)rng_range(r, 4, 15);
		cycle = 30;
		break;
	}
	/* a third stopped buying: their last order is well past the cycle */
	if (c->kind == A_ONE_TIME)
		last = now - rng_range(r, 1, 720) * DAY;
	else if (rng_percent(r, 33))
		last = now - (cycle * 13 / 10 + rng_range(r, 0, 500)) * DAY;
	else
		last = now - rng_range(r, 1, cycle * 9 / 10) * DAY;
	last -= rng_range(r, 0, DAY - 1);
	for (i = 0, at = last; i < n && at > horizon; i++) {
		times[i] = at;
		gap = cycle * rng_range(r, 60, 140) / 100;
		at -= gap * DAY + rng_range(r, -HOUR * 5, HOUR * 5);
	}
	n = i;
	for (i = n - 1; i >= 0; i--)
		make_order(d, r, c, times[i]);
}

static void
make_customer(struct demo *d, uint64_t n, struct customer *c)
{
	struct rng r = { d->p->seed * 0x9e3779b97f4a7c15ULL ^ n };
	int roll, fi, li;

	memset(c, 0, sizeof(*c));
	rng_next(&r);
	c->n = n;
	c->country = pick_weighted_country(&r);
	c->favourite = pick_category(&r);
	fi = (int)rng_below(&r, sizeof(first_names) / sizeof(first_names[0]));
	li = (int)rng_below(&r, sizeof(last_names) / sizeof(last_names[0]));
	c->first = first_names[fi][0];
	c->last = last_names[li][0];
	roll = (int)rng_below(&r, 1000);
	c->kind = roll < 120 ? A_SUBSCRIBER : roll < 470 ? A_ONE_TIME :
	    roll < 880 ? A_REPEAT : roll < 955 ? A_HEAVY : A_WHOLESALE;
	if (c->kind == A_WHOLESALE) {
		int k = (int)rng_below(&r, sizeof(companies) /
		    sizeof(companies[0]));

		c->company = companies[k][0];
		snprintf(c->email, sizeof(c->email), "buyer.%llu@%s",
		    (unsigned long long)n, companies[k][1]);
		c->tax_exempt = rng_percent(&r, 60);
		c->tags = rng_percent(&r, 70) ? "wholesale" : NULL;
		if (c->favourite == CAT_FURNITURE)
			c->favourite = CAT_COFFEE;
	} else {
		snprintf(c->email, sizeof(c->email), "%s.%s.%llu@%s",
		    first_names[fi][1], last_names[li][1],
		    (unsigned long long)n, domains[rng_below(&r, 3)]);
		c->tags = rng_percent(&r, 10) ? "newsletter, loyalty" : NULL;
	}
	if (rng_percent(&r, 70))
		make_phone(&r, countries[c->country].code, c->phone,
		    sizeof(c->phone));

	make_orders(d, &r, c);
	c->since = c->norders > 0 ? c->orders[0].at - rng_range(&r, 0, 30 *
	    DAY) : d->p->now - rng_range(&r, 2, 700) * DAY;

	/* consent: some never gave it, some withdrew it later */
	roll = (int)rng_below(&r, 100);
	c->email_state = roll < 15 ? 0 : roll < 88 ? 1 : 2;
	if (c->email_state > 0)
		c->email_granted_at = c->since + rng_range(&r, 0, HOUR);
	if (c->email_state == 2)
		c->email_revoked_at = c->email_granted_at + (d->p->now -
		    c->email_granted_at) * rng_range(&r, 10, 90) / 100;
	/* SMS consent is its own question: never implied by email */
	if (c->phone[0] != '\0' && rng_percent(&r, 25)) {
		c->sms_state = rng_percent(&r, 85) ? 1 : 2;
		c->sms_granted_at = c->since + rng_range(&r, HOUR, 30 * DAY);
		if (c->sms_granted_at > d->p->now - HOUR)
			c->sms_granted_at = d->p->now - HOUR;
		if (c->sms_state == 2)
			c->sms_revoked_at = c->sms_granted_at + (d->p->now -
			    c->sms_granted_at) / 2;
	}
	roll = (int)rng_below(&r, 100);
	c->engagement = roll < 40 ? 55 : roll < 75 ? 20 : 0;
}

static void
write_customer(struct demo *d, const struct customer *c)
{
	const char *v[NCUSTOMER_COLS] = { NULL };
	char id[24], spent_s[24], orders_s[16];
	int64_t spent = 0;
	int i;

	for (i = 0; i < c->norders; i++)
		spent += c->orders[i].total - c->orders[i].refunded;
	snprintf(id, sizeof(id), "%llu", 7000000000000ULL +
	    (unsigned long long)c->n);
	snprintf(orders_s, sizeof(orders_s), "%d", c->norders);
	v[C_ID] = id;
	v[C_FIRST] = c->first;
	v[C_LAST] = c->last;
	v[C_EMAIL] = c->email;
	v[C_ACCEPTS_EMAIL] = c->email_state == 1 ? "yes" : "no";
	v[C_COMPANY] = c->company;
	v[C_ADDRESS1] = "1 Demo Street";
	v[C_CITY] = countries[c->country].city;
	v[C_PROVINCE] = countries[c->country].province;
	v[C_COUNTRY] = countries[c->country].code;
	v[C_ZIP] = countries[c->country].zip;
	v[C_PHONE] = c->phone;
	v[C_ACCEPTS_SMS] = c->sms_state == 1 ? "yes" : "no";
	v[C_TOTAL_SPENT] = money(spent_s, spent);
	v[C_TOTAL_ORDERS] = orders_s;
	v[C_TAX_EXEMPT] = c->tax_exempt ? "yes" : "no";
	v[C_TAGS] = c->tags;
	put_row(d->f[F_CUSTOMERS], v, NCUSTOMER_COLS);
}

static void
write_orders(struct demo *d, const struct customer *c)
{
	const char *v[NORDER_COLS];
	char name[24], id[24], qty[24], created[40], paid[40], cancelled[40];
	char subtotal[24], shipping[24], taxes[24], total[24], discount[24];
	char refunded[24], price[24], billing[128];
	const char *product;
	int i, j;

	for (i = 0; i < c->norders; i++) {
		const struct order *o = &c->orders[i];

		snprintf(name, sizeof(name), "#%llu", (unsigned long long)
		    (ORDER_BASE + o->number));
		snprintf(id, sizeof(id), "%llu", 5000000000000ULL +
		    (unsigned long long)o->number);
		for (j = 0; j < o->nlines; j++) {
			const struct line *l = &o->lines[j];

			memset(v, 0, sizeof(v));
			v[O_NAME] = name;
			v[O_EMAIL] = c->email;
			product = products[l->product].title ?
			    products[l->product].title :
			    products[l->product - 1].title;
			snprintf(qty, sizeof(qty), "%lld", (long long)
			    l->quantity);
			v[O_QUANTITY] = qty;
			v[O_LINE_NAME] = product;
			v[O_LINE_PRICE] = money(price, l->price);
			v[O_LINE_SKU] = products[l->product].sku;
			v[O_LINE_SHIPPING] = "true";
			v[O_LINE_TAXABLE] = "true";
			v[O_LINE_FULFILLMENT] = "fulfilled";
			/* order fields only on an order's first record */
			if (j == 0) {
				v[O_STATUS] = o->status;
				if (strcmp(o->status, "pending") != 0)
					v[O_PAID_AT] = shopify_time(paid,
					    o->at + 60);
				v[O_FULFILLMENT] = "fulfilled";
				v[O_ACCEPTS] = c->email_state == 1 ? "yes" :
				    "no";
				v[O_CURRENCY] = countries[c->country].currency;
				v[O_SUBTOTAL] = money(subtotal, o->subtotal);
				v[O_SHIPPING] = money(shipping, o->shipping);
				v[O_TAXES] = money(taxes, o->taxes);
				v[O_TOTAL] = money(total, o->total);
				v[O_DISCOUNT] = o->discount;
				if (o->discount != NULL)
					v[O_DISCOUNT_AMOUNT] = money(discount,
					    o->discount_amount);
				v[O_SHIPPING_METHOD] = "Standard";
				v[O_CREATED] = shopify_time(created, o->at);
				snprintf(billing, sizeof(billing), "%s %s",
				    c->first, c->last);
				v[O_BILLING_NAME] = billing;
				v[O_BILLING_ADDRESS1] = "1 Demo Street";
				v[O_BILLING_COMPANY] = c->company;
				v[O_BILLING_CITY] = countries[c->country].city;
				v[O_BILLING_ZIP] = countries[c->country].zip;
				v[O_BILLING_COUNTRY] =
				    countries[c->country].code;
				if (o->cancelled_at != 0)
					v[O_CANCELLED] = shopify_time(cancelled,
					    o->cancelled_at);
				v[O_PAYMENT] = "shopify_payments";
				v[O_REFUNDED] = money(refunded, o->refunded);
				v[O_VENDOR] = "Demo Goods";
				v[O_ID] = id;
				v[O_SOURCE] = "web";
			}
			put_row(d->f[F_ORDERS], v, NORDER_COLS);
		}
	}
}

static void
write_events(struct demo *d, struct rng *r, const struct customer *c)
{
	FILE *fp = d->f[F_EVENTS];
	const int64_t now = d->p->now;
	int64_t at, last_order = c->norders ? c->orders[c->norders - 1].at : 0;
	char m[24];
	size_t pr;
	int i, n;

	/* browsing in the last 90 days, in time order */
	n = rng_percent(r, 50) ? (int)rng_range(r, 1, 4) : 0;
	at = now - rng_range(r, 10, 89) * DAY;
	for (i = 0; i < n && at < now - 4 * DAY; i++) {
		pr = pick_product(r, c->favourite);
		fprintf(fp, "%s,%s,", c->email, i == 0 ? "category_view" :
		    "product_view");
		put_iso_time(fp, at);
		fprintf(fp, ",%s,%s,\n", categories[products[pr].cat].name,
		    i == 0 ? "" : products[pr].sku);
		at += rng_range(r, HOUR, 20 * DAY);
	}
	/* a cart left in the last three days, after any order */
	if (rng_percent(r, 6)) {
		at = now - rng_range(r, 2 * HOUR, 70 * HOUR);
		if (at > last_order) {
			pr = pick_product(r, c->favourite);
			fprintf(fp, "%s,add_to_cart,", c->email);
			put_iso_time(fp, at);
			fprintf(fp, ",%s,%s,", categories[products[pr].cat].name,
			    products[pr].sku);
			fputs(money(m, products[pr].price), fp);
			fputc('\n', fp);
			if (rng_percent(r, 50)) {
				fprintf(fp, "%s,checkout_start,", c->email);
				put_iso_time(fp, at + 15 * 60);
				fprintf(fp, ",%s,,", categories[products[pr].cat].
				    name);
				fputs(money(m, products[pr].price), fp);
				fputc('\n', fp);
			}
		}
	}
}

static void
write_consent(struct demo *d, const struct customer *c)
{
	FILE *fp = d->f[F_CONSENT];

	if (c->email_state > 0) {
		fprintf(fp, "%s,email,granted,%s,", c->email, c->norders ?
		    "checkout" : "signup_form");
		put_iso_time(fp, c->email_granted_at);
		fputs(c->norders ? ",checkbox 'Email me with news and offers'"
		    " at checkout\n" : ",form newsletter-footer v3\n", fp);
	}
	if (c->email_state == 2) {
		fprintf(fp, "%s,email,revoked,unsubscribe_link,", c->email);
		put_iso_time(fp, c->email_revoked_at);
		fputs(",one-click List-Unsubscribe\n", fp);
	}
	if (c->sms_state > 0) {
		fprintf(fp, "%s,sms,granted,sms_keyword,", c->email);
		put_iso_time(fp, c->sms_granted_at);
		fputs(",keyword JOIN to 40404\n", fp);
	}
	if (c->sms_state == 2) {
		fprintf(fp, "%s,sms,revoked,sms_keyword,", c->email);
		put_iso_time(fp, c->sms_revoked_at);
		fputs(",keyword STOP\n", fp);
	}
}

static void
write_engagement(struct demo *d, struct rng *r, const struct customer *c)
{
	FILE *fp = d->f[F_ENGAGEMENT];
	char id[64];
	int64_t at, end;
	int i, bounced = rng_percent(r, 1), last_sent = -1;
	struct tm tm;
	time_t t;

	if (c->email_state == 0)
		return;
	end = c->email_state == 2 ? c->email_revoked_at : d->p->now;
	for (i = 0; i < NCAMPAIGNS; i++) {
		at = d->campaigns[i];
		if (at < c->email_granted_at || at >= end)
			continue;
		t = (time_t)at;
		gmtime_r(&t, &tm);
		snprintf(id, sizeof(id), "%04d-%02d-%02d-%s", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, campaign_names[i %
		    (sizeof(campaign_names) / sizeof(campaign_names[0]))]);
		fprintf(fp, "%s,%s,sent,", c->email, id);
		put_iso_time(fp, at);
		fputc('\n', fp);
		last_sent = i;
		if (bounced) {
			fprintf(fp, "%s,%s,bounce,", c->email, id);
			put_iso_time(fp, at + 60);
			fputc('\n', fp);
			break;
		}
		if (rng_percent(r, c->engagement)) {
			fprintf(fp, "%s,%s,open,", c->email, id);
			put_iso_time(fp, at + rng_range(r, 600, 2 * DAY));
			fputc('\n', fp);
			if (rng_percent(r, 30)) {
				fprintf(fp, "%s,%s,click,", c->email, id);
				put_iso_time(fp, at + 2 * DAY + 60);
				fputc('\n', fp);
			}
		}
	}
	if (c->email_state == 2 && last_sent >= 0) {
		t = (time_t)d->campaigns[last_sent];
		gmtime_r(&t, &tm);
		snprintf(id, sizeof(id), "%04d-%02d-%02d-%s", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, campaign_names[last_sent %
		    (sizeof(campaign_names) / sizeof(campaign_names[0]))]);
		fprintf(fp, "%s,%s,unsubscribe,", c->email, id);
		put_iso_time(fp, c->email_revoked_at);
		fputc('\n', fp);
	}
	if (c->sms_state == 2) {
		fprintf(fp, "%s,sms-offers,sms_optout,", c->email);
		put_iso_time(fp, c->sms_revoked_at);
		fputc('\n', fp);
	}
}

static void
write_headers(struct demo *d)
{
	put_row(d->f[F_CUSTOMERS], customer_header, NCUSTOMER_COLS);
	put_row(d->f[F_ORDERS], order_header, NORDER_COLS);
	fputs("email,type,occurred_at,category,sku,cart_value\n",
	    d->f[F_EVENTS]);
	fputs("email,channel,status,source,recorded_at,evidence\n",
	    d->f[F_CONSENT]);
	fputs("email,campaign_id,type,occurred_at\n", d->f[F_ENGAGEMENT]);
}

int
demo_write(const struct demo_params *p, const char *dir, char *err,
    size_t errlen)
{
	struct customer *c;
	struct demo d;
	struct rng r;
	char path[4096];
	uint64_t n;
	int i, rc = 0;

	memset(&d, 0, sizeof(d));
	d.p = p;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < F_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, file_names[i]);
		if ((d.f[i] = fopen(path, "w")) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			while (--i >= 0)
				fclose(d.f[i]);
			return -1;
		}
		setvbuf(d.f[i], NULL, _IOFBF, 1 << 20);
	}
	for (i = 0; i < NCAMPAIGNS; i++)
		d.campaigns[i] = p->now - (NCAMPAIGNS - i) * 15 * DAY + 15 * HOUR;
	write_products(&d);
	write_headers(&d);

	c = malloc(sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (n = 1; rc == 0 && n <= p->customers; n++) {
		make_customer(&d, n, c);
		r.s = p->seed ^ (n * 0xd1b54a32d192ed03ULL);
		write_customer(&d, c);
		write_orders(&d, c);
		write_events(&d, &r, c);
		write_consent(&d, c);
		write_engagement(&d, &r, c);
	}
	free(c);
	for (i = 0; i < F_COUNT; i++) {
		if ((ferror(d.f[i]) | fclose(d.f[i])) != 0 && rc == 0) {
			snprintf(err, errlen, "%s/%s: %s", dir, file_names[i],
			    strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/*
 * The truth the simulated outcomes follow: the chance of an order within
 * the window, held out, broad and tailored.  Lapsed customers answer the
 * tailored "we miss you" 3 points better than the broad send; VIPs not
 * at all (they buy anyway); the rest a little.
 */
static const struct {
	const char	*segment;
	double		 none, broad, tailored;
} truth[] = {
	{ "lapsed", 0.04, 0.06, 0.09 },
	{ "vip", 0.10, 0.13, 0.13 },
	{ "repeat", 0.06, 0.08, 0.10 },
	{ "first_time", 0.05, 0.07, 0.08 },
	{ "subscriber", 0.02, 0.03, 0.04 },
	{ "b2b", 0.05, 0.06, 0.06 },
};

double
demo_truth(const char *segment, const char *arm)
{
	size_t i;

	for (i = 0; i < sizeof(truth) / sizeof(truth[0]); i++) {
		if (strcmp(segment, truth[i].segment) != 0)
			continue;
		if (arm == NULL || strcmp(arm, "tailored") == 0)
			return truth[i].tailored;
		if (strcmp(arm, "broad") == 0)
			return truth[i].broad;
		return truth[i].none;	/* held out, globally too */
	}
	return 0.02;
}

struct demo_outcomes {
	FILE		*fp;
	char		 path[4096];
	char		 campaign[128];
	uint64_t	 seed;
	int64_t		 window;
};

struct demo_outcomes *
demo_outcomes_open(const char *path, const char *campaign, uint64_t seed,
    int64_t window_s, char *err, size_t errlen)
{
	struct demo_outcomes *o;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((o->fp = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(o);
		return NULL;
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	snprintf(o->campaign, sizeof(o->campaign), "%s", campaign);
	o->seed = seed;
	o->window = window_s;
	put_row(o->fp, order_header, NORDER_COLS);
	return o;
}

int
demo_outcomes_add(struct demo_outcomes *o, const struct demo_recipient *r)
{
	const char *v[NORDER_COLS];
	char name[200], created[40], paid[40], total[24], price[24];
	struct rng g;
	int64_t cents, at;

	/* per customer, whatever the order they come in */
	g.s = o->seed ^ ((uint64_t)r->customer_id * 0x9e3779b97f4a7c15ULL);
	if ((double)(rng_next(&g) >> 11) * 0x1.0p-53 >=
	    demo_truth(r->segment, r->arm))
		return 0;
	at = r->at + rng_range(&g, 60, o->window - 60);
	cents = rng_range(&g, 2000, 12000);
	snprintf(name, sizeof(name), "#SIM-%s-%lld", o->campaign,
	    (long long)r->customer_id);
	memset(v, 0, sizeof(v));
	v[O_NAME] = name;
	v[O_EMAIL] = r->email;
	v[O_STATUS] = "paid";
	v[O_PAID_AT] = shopify_time(paid, at + 60);
	v[O_CURRENCY] = "USD";
	v[O_SUBTOTAL] = money(total, cents);
	v[O_TOTAL] = v[O_SUBTOTAL];
	v[O_CREATED] = shopify_time(created, at);
	/* the code of the variant they were sent, on half their orders */
	if (r->code != NULL && rng_percent(&g, 50))
		v[O_DISCOUNT] = r->code;
	v[O_QUANTITY] = "1";
	v[O_LINE_NAME] = "Simulated order";
	v[O_LINE_PRICE] = money(price, cents);
	v[O_LINE_SKU] = "SIM-1";
	put_row(o->fp, v, NORDER_COLS);
	return 1;
}

int
demo_outcomes_close(struct demo_outcomes *o, char *err, size_t errlen)
{
	int rc = 0;

	if ((ferror(o->fp) | fclose(o->fp)) != 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		rc = -1;
	}
	free(o);
	return rc;
}
