-- depends: core_0001_platform
-- Commerce catalog: currencies (ISO 4217 reference data), products with options, option values and variants,
-- categories, collections, tags, customer groups, price lists and prices. Money is bigint minor units with
-- an ISO currency code. Every tenant table carries tenant_id first in each key; row-level security, policies
-- and grants come from rustok._after_migrate().

insert into permissions (slug, description) values
    ('products.manage', 'Create, change and delete products, categories, collections, prices and stock'),
    ('orders.manage', 'Read every order and cart of the tenant, change order status; regions, shipping, discounts');
insert into role_permissions (role, permission)
select r, p from (values
    ('super_admin', 'products.manage'), ('admin', 'products.manage'), ('manager', 'products.manage'),
    ('super_admin', 'orders.manage'), ('admin', 'orders.manage'), ('manager', 'orders.manage')
) as grants (r, p);

-- ISO 4217 currencies with their minor units (digits after the decimal point), from Debian's iso-codes 4.15
-- plus XCG (2025) and ZWG (2024); precious metals, funds and test codes without minor units are left out.
-- Global reference data, shared by all tenants.
create table commerce_currencies (
    code          char(3) primary key check (code ~ '^[A-Z]{3}$'),
    numeric_code  char(3) not null check (numeric_code ~ '^[0-9]{3}$'),
    minor_units   smallint not null check (minor_units between 0 and 4),
    name          varchar(128) not null
);
grant select on commerce_currencies to rustok_clients;
insert into commerce_currencies (code, numeric_code, minor_units, name) values
    ('AED', '784', 2, 'UAE Dirham'),
    ('AFN', '971', 2, 'Afghani'),
    ('ALL', '008', 2, 'Lek'),
    ('AMD', '051', 2, 'Armenian Dram'),
    ('ANG', '532', 2, 'Netherlands Antillean Guilder'),
    ('AOA', '973', 2, 'Kwanza'),
    ('ARS', '032', 2, 'Argentine Peso'),
    ('AUD', '036', 2, 'Australian Dollar'),
    ('AWG', '533', 2, 'Aruban Florin'),
    ('AZN', '944', 2, 'Azerbaijan Manat'),
    ('BAM', '977', 2, 'Convertible Mark'),
    ('BBD', '052', 2, 'Barbados Dollar'),
    ('BDT', '050', 2, 'Taka'),
    ('BGN', '975', 2, 'Bulgarian Lev'),
    ('BHD', '048', 3, 'Bahraini Dinar'),
    ('BIF', '108', 0, 'Burundi Franc'),
    ('BMD', '060', 2, 'Bermudian Dollar'),
    ('BND', '096', 2, 'Brunei Dollar'),
    ('BOB', '068', 2, 'Boliviano'),
    ('BOV', '984', 2, 'Mvdol'),
    ('BRL', '986', 2, 'Brazilian Real'),
    ('BSD', '044', 2, 'Bahamian Dollar'),
    ('BTN', '064', 2, 'Ngultrum'),
    ('BWP', '072', 2, 'Pula'),
    ('BYN', '933', 2, 'Belarusian Ruble'),
    ('BZD', '084', 2, 'Belize Dollar'),
    ('CAD', '124', 2, 'Canadian Dollar'),
    ('CDF', '976', 2, 'Congolese Franc'),
    ('CHE', '947', 2, 'WIR Euro'),
    ('CHF', '756', 2, 'Swiss Franc'),
    ('CHW', '948', 2, 'WIR Franc'),
    ('CLF', '990', 4, 'Unidad de Fomento'),
    ('CLP', '152', 0, 'Chilean Peso'),
    ('CNY', '156', 2, 'Yuan Renminbi'),
    ('COP', '170', 2, 'Colombian Peso'),
    ('COU', '970', 2, 'Unidad de Valor Real'),
    ('CRC', '188', 2, 'Costa Rican Colon'),
    ('CUC', '931', 2, 'Peso Convertible'),
    ('CUP', '192', 2, 'Cuban Peso'),
    ('CVE', '132', 2, 'Cabo Verde Escudo'),
    ('CZK', '203', 2, 'Czech Koruna'),
    ('DJF', '262', 0, 'Djibouti Franc'),
    ('DKK', '208', 2, 'Danish Krone'),
    ('DOP', '214', 2, 'Dominican Peso'),
    ('DZD', '012', 2, 'Algerian Dinar'),
    ('EGP', '818', 2, 'Egyptian Pound'),
    ('ERN', '232', 2, 'Nakfa'),
    ('ETB', '230', 2, 'Ethiopian Birr'),
    ('EUR', '978', 2, 'Euro'),
    ('FJD', '242', 2, 'Fiji Dollar'),
    ('FKP', '238', 2, 'Falkland Islands Pound'),
    ('GBP', '826', 2, 'Pound Sterling'),
    ('GEL', '981', 2, 'Lari'),
    ('GHS', '936', 2, 'Ghana Cedi'),
    ('GIP', '292', 2, 'Gibraltar Pound'),
    ('GMD', '270', 2, 'Dalasi'),
    ('GNF', '324', 0, 'Guinean Franc'),
    ('GTQ', '320', 2, 'Quetzal'),
    ('GYD', '328', 2, 'Guyana Dollar'),
    ('HKD', '344', 2, 'Hong Kong Dollar'),
    ('HNL', '340', 2, 'Lempira'),
    ('HRK', '191', 2, 'Kuna'),
    ('HTG', '332', 2, 'Gourde'),
    ('HUF', '348', 2, 'Forint'),
    ('IDR', '360', 2, 'Rupiah'),
    ('ILS', '376', 2, 'New Israeli Sheqel'),
    ('INR', '356', 2, 'Indian Rupee'),
    ('IQD', '368', 3, 'Iraqi Dinar'),
    ('IRR', '364', 2, 'Iranian Rial'),
    ('ISK', '352', 0, 'Iceland Krona'),
    ('JMD', '388', 2, 'Jamaican Dollar'),
    ('JOD', '400', 3, 'Jordanian Dinar'),
    ('JPY', '392', 0, 'Yen'),
    ('KES', '404', 2, 'Kenyan Shilling'),
    ('KGS', '417', 2, 'Som'),
    ('KHR', '116', 2, 'Riel'),
    ('KMF', '174', 0, 'Comorian Franc'),
    ('KPW', '408', 2, 'North Korean Won'),
    ('KRW', '410', 0, 'Won'),
    ('KWD', '414', 3, 'Kuwaiti Dinar'),
    ('KYD', '136', 2, 'Cayman Islands Dollar'),
    ('KZT', '398', 2, 'Tenge'),
    ('LAK', '418', 2, 'Lao Kip'),
    ('LBP', '422', 2, 'Lebanese Pound'),
    ('LKR', '144', 2, 'Sri Lanka Rupee'),
    ('LRD', '430', 2, 'Liberian Dollar'),
    ('LSL', '426', 2, 'Loti'),
    ('LYD', '434', 3, 'Libyan Dinar'),
    ('MAD', '504', 2, 'Moroccan Dirham'),
    ('MDL', '498', 2, 'Moldovan Leu'),
    ('MGA', '969', 2, 'Malagasy Ariary'),
    ('MKD', '807', 2, 'Denar'),
    ('MMK', '104', 2, 'Kyat'),
    ('MNT', '496', 2, 'Tugrik'),
    ('MOP', '446', 2, 'Pataca'),
    ('MRU', '929', 2, 'Ouguiya'),
    ('MUR', '480', 2, 'Mauritius Rupee'),
    ('MVR', '462', 2, 'Rufiyaa'),
    ('MWK', '454', 2, 'Malawi Kwacha'),
    ('MXN', '484', 2, 'Mexican Peso'),
    ('MXV', '979', 2, 'Mexican Unidad de Inversion (UDI)'),
    ('MYR', '458', 2, 'Malaysian Ringgit'),
    ('MZN', '943', 2, 'Mozambique Metical'),
    ('NAD', '516', 2, 'Namibia Dollar'),
    ('NGN', '566', 2, 'Naira'),
    ('NIO', '558', 2, 'Cordoba Oro'),
    ('NOK', '578', 2, 'Norwegian Krone'),
    ('NPR', '524', 2, 'Nepalese Rupee'),
    ('NZD', '554', 2, 'New Zealand Dollar'),
    ('OMR', '512', 3, 'Rial Omani'),
    ('PAB', '590', 2, 'Balboa'),
    ('PEN', '604', 2, 'Sol'),
    ('PGK', '598', 2, 'Kina'),
    ('PHP', '608', 2, 'Philippine Peso'),
    ('PKR', '586', 2, 'Pakistan Rupee'),
    ('PLN', '985', 2, 'Zloty'),
    ('PYG', '600', 0, 'Guarani'),
    ('QAR', '634', 2, 'Qatari Rial'),
    ('RON', '946', 2, 'Romanian Leu'),
    ('RSD', '941', 2, 'Serbian Dinar'),
    ('RUB', '643', 2, 'Russian Ruble'),
    ('RWF', '646', 0, 'Rwanda Franc'),
    ('SAR', '682', 2, 'Saudi Riyal'),
    ('SBD', '090', 2, 'Solomon Islands Dollar'),
    ('SCR', '690', 2, 'Seychelles Rupee'),
    ('SDG', '938', 2, 'Sudanese Pound'),
    ('SEK', '752', 2, 'Swedish Krona'),
    ('SGD', '702', 2, 'Singapore Dollar'),
    ('SHP', '654', 2, 'Saint Helena Pound'),
    ('SLE', '925', 2, 'Leone'),
    ('SLL', '694', 2, 'Leone'),
    ('SOS', '706', 2, 'Somali Shilling'),
    ('SRD', '968', 2, 'Surinam Dollar'),
    ('SSP', '728', 2, 'South Sudanese Pound'),
    ('STN', '930', 2, 'Dobra'),
    ('SVC', '222', 2, 'El Salvador Colon'),
    ('SYP', '760', 2, 'Syrian Pound'),
    ('SZL', '748', 2, 'Lilangeni'),
    ('THB', '764', 2, 'Baht'),
    ('TJS', '972', 2, 'Somoni'),
    ('TMT', '934', 2, 'Turkmenistan New Manat'),
    ('TND', '788', 3, 'Tunisian Dinar'),
    ('TOP', '776', 2, 'Pa’anga'),
    ('TRY', '949', 2, 'Turkish Lira'),
    ('TTD', '780', 2, 'Trinidad and Tobago Dollar'),
    ('TWD', '901', 2, 'New Taiwan Dollar'),
    ('TZS', '834', 2, 'Tanzanian Shilling'),
    ('UAH', '980', 2, 'Hryvnia'),
    ('UGX', '800', 0, 'Uganda Shilling'),
    ('USD', '840', 2, 'US Dollar'),
    ('USN', '997', 2, 'US Dollar (Next day)'),
    ('UYI', '940', 0, 'Uruguay Peso en Unidades Indexadas (UI)'),
    ('UYU', '858', 2, 'Peso Uruguayo'),
    ('UYW', '927', 4, 'Unidad Previsional'),
    ('UZS', '860', 2, 'Uzbekistan Sum'),
    ('VED', '926', 2, 'Bolívar Soberano'),
    ('VES', '928', 2, 'Bolívar Soberano'),
    ('VND', '704', 0, 'Dong'),
    ('VUV', '548', 0, 'Vatu'),
    ('WST', '882', 2, 'Tala'),
    ('XAF', '950', 0, 'CFA Franc BEAC'),
    ('XCD', '951', 2, 'East Caribbean Dollar'),
    ('XCG', '532', 2, 'Caribbean Guilder'),
    ('XOF', '952', 0, 'CFA Franc BCEAO'),
    ('XPF', '953', 0, 'CFP Franc'),
    ('YER', '886', 2, 'Yemeni Rial'),
    ('ZAR', '710', 2, 'Rand'),
    ('ZMW', '967', 2, 'Zambian Kwacha'),
    ('ZWG', '924', 2, 'Zimbabwe Gold'),
    ('ZWL', '932', 2, 'Zimbabwe Dollar');

create table commerce_products (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    title         varchar(255) not null check (btrim(title) <> ''),
    subtitle      varchar(255),
    handle        varchar(255) not null check (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description   text,
    status        varchar(32) not null default 'draft' check (status in ('draft', 'published', 'archived')),
    discountable  boolean not null default true,
    metadata      jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, handle)
);
create index commerce_products_status on commerce_products (tenant_id, status, id);

-- Options a product's variants combine (Size, Colour) and the values each option offers.
create table commerce_product_options (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    product_id    uuid not null,
    title         varchar(255) not null check (btrim(title) <> ''),
    position      int not null default 0,
    primary key (tenant_id, id),
    unique (tenant_id, product_id, title),
    unique (tenant_id, product_id, id),
    foreign key (tenant_id, product_id) references commerce_products (tenant_id, id) on delete cascade
);

create table commerce_product_option_values (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    option_id     uuid not null,
    value         varchar(255) not null check (btrim(value) <> ''),
    position      int not null default 0,
    primary key (tenant_id, id),
    unique (tenant_id, option_id, value),
    unique (tenant_id, option_id, id),
    foreign key (tenant_id, option_id) references commerce_product_options (tenant_id, id) on delete cascade
);

create table commerce_variants (
    tenant_id        uuid not null,
    id               uuid not null default rustok.gen_id(),
    product_id       uuid not null,
    title            varchar(255) not null check (btrim(title) <> ''),
    sku              varchar(64) check (btrim(sku) <> ''),
    barcode          varchar(64),
    manage_inventory boolean not null default true,
    allow_backorder  boolean not null default false,
    weight           int check (weight >= 0),
    length           int check (length >= 0),
    height           int check (height >= 0),
    width            int check (width >= 0),
    position         int not null default 0,
    metadata         jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, sku),
    unique (tenant_id, product_id, id),
    foreign key (tenant_id, product_id) references commerce_products (tenant_id, id) on delete cascade
);

-- Which value of each of its product's options a variant has: one per option, all of the same product.
create table commerce_variant_option_values (
    tenant_id        uuid not null,
    product_id       uuid not null,
    variant_id       uuid not null,
    option_id        uuid not null,
    option_value_id  uuid not null,
    primary key (tenant_id, variant_id, option_id),
    foreign key (tenant_id, product_id, variant_id)
        references commerce_variants (tenant_id, product_id, id) on delete cascade,
    foreign key (tenant_id, product_id, option_id)
        references commerce_product_options (tenant_id, product_id, id) on delete cascade,
    foreign key (tenant_id, option_id, option_value_id)
        references commerce_product_option_values (tenant_id, option_id, id) on delete cascade
);
create index commerce_variant_option_values_option on commerce_variant_option_values (tenant_id, option_id);
create index commerce_variant_option_values_value on commerce_variant_option_values (tenant_id, option_value_id);

-- Product categories (a tree) and collections (flat, curated), each linked to products many-to-many.
create table commerce_categories (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    parent_id     uuid,
    name          varchar(255) not null check (btrim(name) <> ''),
    handle        varchar(255) not null check (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description   text,
    position      int not null default 0,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, handle),
    check (parent_id is distinct from id),
    foreign key (tenant_id, parent_id) references commerce_categories (tenant_id, id) on delete set null (parent_id)
);
create index commerce_categories_parent on commerce_categories (tenant_id, parent_id);

create table commerce_product_categories (
    tenant_id     uuid not null,
    product_id    uuid not null,
    category_id   uuid not null,
    primary key (tenant_id, product_id, category_id),
    foreign key (tenant_id, product_id) references commerce_products (tenant_id, id) on delete cascade,
    foreign key (tenant_id, category_id) references commerce_categories (tenant_id, id) on delete cascade
);
create index commerce_product_categories_category on commerce_product_categories (tenant_id, category_id, product_id);

create table commerce_collections (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    title         varchar(255) not null check (btrim(title) <> ''),
    handle        varchar(255) not null check (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    metadata      jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, handle)
);

create table commerce_product_collections (
    tenant_id     uuid not null,
    product_id    uuid not null,
    collection_id uuid not null,
    primary key (tenant_id, product_id, collection_id),
    foreign key (tenant_id, product_id) references commerce_products (tenant_id, id) on delete cascade,
    foreign key (tenant_id, collection_id) references commerce_collections (tenant_id, id) on delete cascade
);
create index commerce_product_collections_collection
    on commerce_product_collections (tenant_id, collection_id, product_id);

create table commerce_product_tags (
    tenant_id     uuid not null,
    product_id    uuid not null,
    value         varchar(64) not null check (btrim(value) <> ''),
    primary key (tenant_id, product_id, value),
    foreign key (tenant_id, product_id) references commerce_products (tenant_id, id) on delete cascade
);
create index commerce_product_tags_value on commerce_product_tags (tenant_id, value, product_id);

-- Customer groups (wholesale, VIP) and their members: what customer-group price lists are for.
create table commerce_customer_groups (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    name          varchar(255) not null check (btrim(name) <> ''),
    created_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, name)
);

create table commerce_customer_group_members (
    tenant_id     uuid not null,
    group_id      uuid not null,
    customer_id   uuid not null,
    primary key (tenant_id, group_id, customer_id),
    foreign key (tenant_id, group_id) references commerce_customer_groups (tenant_id, id) on delete cascade,
    foreign key (tenant_id, customer_id) references users (tenant_id, id) on delete cascade
);
create index commerce_customer_group_members_customer on commerce_customer_group_members (tenant_id, customer_id);

-- Price lists: a sale or a customer group's prices, active within an optional window [starts_at, ends_at).
create table commerce_price_lists (
    tenant_id         uuid not null references tenants (id) on delete cascade,
    id                uuid not null default rustok.gen_id(),
    title             varchar(255) not null check (btrim(title) <> ''),
    description       text,
    status            varchar(16) not null default 'active' check (status in ('draft', 'active')),
    customer_group_id uuid,
    starts_at         timestamptz,
    ends_at           timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    primary key (tenant_id, id),
    check (starts_at is null or ends_at is null or ends_at > starts_at),
    foreign key (tenant_id, customer_group_id) references commerce_customer_groups (tenant_id, id)
);
create index commerce_price_lists_group on commerce_price_lists (tenant_id, customer_group_id);

-- Prices: per variant, currency, price list (null: the base price) and quantity tier (min_quantity).
create table commerce_prices (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    variant_id    uuid not null,
    currency_code char(3) not null references commerce_currencies (code),
    amount        bigint not null check (amount >= 0),
    min_quantity  int not null default 1 check (min_quantity >= 1),
    price_list_id uuid,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique nulls not distinct (tenant_id, variant_id, currency_code, price_list_id, min_quantity),
    foreign key (tenant_id, variant_id) references commerce_variants (tenant_id, id) on delete cascade,
    foreign key (tenant_id, price_list_id) references commerce_price_lists (tenant_id, id) on delete cascade
);
create index commerce_prices_price_list on commerce_prices (tenant_id, price_list_id);
