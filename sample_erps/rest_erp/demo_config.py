"""The ``crm-hub.yaml`` source block that reads the sample REST ERP.

Its streams use every paging style the REST connector knows, as real APIs differ even
inside one product: page numbers, offsets, cursor tokens, next links in the body and in
the ``Link`` header.
"""

from __future__ import annotations

SOURCE_TEMPLATE = """\
  {name}:
    kind: rest
    url: {url}
    mapping: {mapping}
    schedule: "*/15 * * * *"
    options:
{auth}      timeout: {{connect: {connect_timeout}, read: {read_timeout}}}
      retries: {{attempts: {attempts}, backoff: {backoff}, max_retry_after: 60}}
    streams:
      customers:
        primary_key: [id]
        cursor: [updated_at]
        options:
          path: /customers
          params: {{sort: updated_at}}
          pagination: {{style: page, page_size: {page_size}, total_path: meta.total}}
          columns: [vat_number, email, phone, address.line1, address.line2, address.city,
                    address.state, address.postal_code, address.country, created_at]
      orders:
        primary_key: [id]
        cursor: [updated_at]
        options:
          path: /orders
          pagination: {{style: cursor, page_size: {page_size}}}
          columns: [requested_date]
      order_lines:
        primary_key: [order_id, line_no]
        cursor: [updated_at]
        options:
          path: /order-lines
          pagination: {{style: next_link, size_param: limit, page_size: {page_size}}}
          columns: [name]
      inventory:
        primary_key: [sku, location]
        cursor: [updated_at]
        options:
          path: /stock
          params: {{sort: updated_at}}
          pagination: {{style: offset, page_size: {page_size}}}
          columns: [description, category]
      credit:
        primary_key: [customer_id]
        cursor: [updated_at]
        options:
          path: /credit-accounts
          pagination: {{style: link_header, size_param: limit, page_size: {page_size}}}
          columns: [hold_reason, risk_rating]
      invoices:
        primary_key: [number]
        cursor: [updated_at]
        options:
          path: /invoices
          pagination: {{style: cursor, page_size: {page_size}}}
          columns: [order_id, due_on]
      payments:
        primary_key: [id]
        cursor: [updated_at]
        options:
          path: /payments
          pagination: {{style: cursor, page_size: {page_size}}}
          columns: [invoice_number, method]
"""

AUTH = {
    "none": "",
    "bearer": "      auth: {{type: bearer, token_env: {prefix}_TOKEN}}\n",
    "oauth2": (
        "      auth:\n"
        "        type: oauth2_client_credentials\n"
        "        token_url: /oauth/token\n"
        "        client_id_env: {prefix}_CLIENT_ID\n"
        "        client_secret_env: {prefix}_CLIENT_SECRET\n"
    ),
}


def source_config(
    url: str,
    *,
    name: str = "rest_erp",
    mapping: str = "mappings/rest_erp.yaml",
    auth: str = "none",
    page_size: int = 200,
    connect_timeout: float = 5,
    read_timeout: float = 30,
    attempts: int = 5,
    backoff: float = 0.5,
) -> str:
    """The YAML of one source (indented for the ``sources:`` map) that reads the sample
    REST ERP at ``url`` (its API base, e.g. ``RestErpServer.api_url``).

    ``auth`` is ``none``, ``bearer`` (token in ``$REST_ERP_TOKEN``) or ``oauth2`` (client
    id and secret in ``$REST_ERP_CLIENT_ID`` and ``$REST_ERP_CLIENT_SECRET``), for a source
    named ``rest_erp``; the variables are named after the source. The timeouts and the
    retry settings are those of the source's ``options`` (short ones make tests fast).
    """
    block = AUTH[auth].format(prefix=name.upper())
    return SOURCE_TEMPLATE.format(
        name=name,
        url=url,
        mapping=mapping,
        auth=block,
        page_size=page_size,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        attempts=attempts,
        backoff=backoff,
    )
