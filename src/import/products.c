/*
 * products.c - the SKU to category (and cost) map, for orders that carry
 * no category: our columns and Shopify's products export.
 *
 * Shopify writes one record per variant and puts Title, Type and Product
 * Category only on a product's first record; later variants carry just the
 * Handle, so those values are remembered per handle.  The merchant's own
 * Type is preferred over the last component of the taxonomy path
 * ("Food, Beverages & Tobacco > Beverages > Coffee" -> coffee).
 */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "xalloc.h"

enum { PC_SKU, PC_TITLE, PC_CATEGORY, PC_COST, PC_HANDLE, PC_TYPE };

static const struct import_column native_cols[] = {
	[PC_SKU] = { { "sku" }, 1 },
	[PC_TITLE] = { { "title" }, 0 },
	[PC_CATEGORY] = { { "category" }, 0 },
	[PC_COST] = { { "cost" }, 0 },
};

static const struct import_column shopify_cols[] = {
	[PC_SKU] = { { "Variant SKU" }, 1 },
	[PC_TITLE] = { { "Title" }, 0 },
	[PC_CATEGORY] = { { "Product Category" }, 0 },
	[PC_COST] = { { "Cost per item" }, 0 },
	[PC_HANDLE] = { { "Handle" }, 1 },
	[PC_TYPE] = { { "Type" }, 0 },
};

struct products_state {
	char	handle[256];
	char	title[256];
	char	category[CONF_NAME_MAX];
};

static int
products_save(struct import_ctx *ctx, const char *handle, const char *title,
    const char *category)
{
	struct store_product p;
	enum store_change ch;
	const char *why, *v;

	memset(&p, 0, sizeof(p));
	p.cost = -1;
	if ((v = import_opt(ctx, PC_COST)) != NULL &&
	    parse_money(v, &p.cost, &why) == -1)
		return import_bad(ctx, "%s: '%s': %s",
		    ctx->fmt->cols[PC_COST].names[0], v, why);
	p.sku = import_col(ctx, PC_SKU);
	p.handle = handle;
	p.title = title;
	p.category = category;
	if (store_product_upsert(ctx->st, &p, &ch) == -1)
		return import_store_fail(ctx);
	import_tally(ctx, ch);
	return 0;
}

static int
products_native_record(struct import_ctx *ctx)
{
	char slug[CONF_NAME_MAX];
	const char *v = import_opt(ctx, PC_CATEGORY);

	if (*import_col(ctx, PC_SKU) == '\0')
		return import_bad(ctx, "sku: missing");
	if (v != NULL && parse_slug(v, slug, sizeof(slug)) == -1)
		return import_bad(ctx, "category: '%s' has no letters or"
		    " digits", v);
	return products_save(ctx, NULL, import_opt(ctx, PC_TITLE),
	    v ? slug : NULL);
}

static int
products_shopify_record(struct import_ctx *ctx)
{
	struct products_state *ps = ctx->state;
	const char *handle = import_col(ctx, PC_HANDLE), *v;

	if (ps == NULL)
		ps = ctx->state = xcalloc(1, sizeof(*ps));
	if (strcmp(handle, ps->handle) != 0) {
		snprintf(ps->handle, sizeof(ps->handle), "%s", handle);
		ps->title[0] = ps->category[0] = '\0';
	}
	if ((v = import_opt(ctx, PC_TITLE)) != NULL)
		snprintf(ps->title, sizeof(ps->title), "%s", v);
	if (((v = import_opt(ctx, PC_TYPE)) != NULL ||
	    (v = import_opt(ctx, PC_CATEGORY)) != NULL) &&
	    parse_slug(v, ps->category, sizeof(ps->category)) == -1)
		ps->category[0] = '\0';
	/* A product without SKUs cannot be matched to order lines. */
	if (*import_col(ctx, PC_SKU) == '\0') {
		ctx->stats->skipped++;
		return 0;
	}
	return products_save(ctx, *ps->handle ? ps->handle : NULL,
	    *ps->title ? ps->title : NULL,
	    *ps->category ? ps->category : NULL);
}

const struct import_format import_products_native = {
	"products (segctl columns)", IMPORT_PRODUCTS, NULL, native_cols,
	sizeof(native_cols) / sizeof(native_cols[0]), products_native_record,
	NULL, NULL, NULL, NULL
};

const struct import_format import_products_shopify = {
	"Shopify products export", IMPORT_PRODUCTS, "Variant SKU",
	shopify_cols, sizeof(shopify_cols) / sizeof(shopify_cols[0]),
	products_shopify_record, NULL, NULL, NULL, NULL
};
