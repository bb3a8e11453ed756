-- OMOP CDM v5.4 standardized vocabulary tables, with the column names and
-- types of the official DDL. Primary keys and the lookup indexes Portiere
-- needs are created here; the vocabulary import swaps whole tables, so
-- constraints that make bulk loads slow (foreign keys) are left out, as in
-- the CDM's own "constraints" script being optional.

create table concept (
	concept_id       integer      not null primary key,
	concept_name     varchar(255) not null,
	domain_id        varchar(20)  not null,
	vocabulary_id    varchar(20)  not null,
	concept_class_id varchar(20)  not null,
	standard_concept varchar(1)   null,
	concept_code     varchar(50)  not null,
	valid_start_date date         not null,
	valid_end_date   date         not null,
	invalid_reason   varchar(1)   null
);
create index concept_code_idx on concept (concept_code);
create index concept_vocabulary_idx on concept (vocabulary_id);
create index concept_domain_idx on concept (domain_id);
create index concept_class_idx on concept (concept_class_id);

create table vocabulary (
	vocabulary_id         varchar(20)  not null primary key,
	vocabulary_name       varchar(255) not null,
	vocabulary_reference  varchar(255) null,
	vocabulary_version    varchar(255) null,
	vocabulary_concept_id integer      not null
);

create table domain (
	domain_id         varchar(20)  not null primary key,
	domain_name       varchar(255) not null,
	domain_concept_id integer      not null
);

create table concept_class (
	concept_class_id         varchar(20)  not null primary key,
	concept_class_name       varchar(255) not null,
	concept_class_concept_id integer      not null
);

create table concept_relationship (
	concept_id_1     integer     not null,
	concept_id_2     integer     not null,
	relationship_id  varchar(20) not null,
	valid_start_date date        not null,
	valid_end_date   date        not null,
	invalid_reason   varchar(1)  null,
	primary key (concept_id_1, concept_id_2, relationship_id)
);
create index concept_relationship_id2_idx on concept_relationship (concept_id_2);

create table relationship (
	relationship_id         varchar(20)  not null primary key,
	relationship_name       varchar(255) not null,
	is_hierarchical         varchar(1)   not null,
	defines_ancestry        varchar(1)   not null,
	reverse_relationship_id varchar(20)  not null,
	relationship_concept_id integer      not null
);

create table concept_synonym (
	concept_id           integer       not null,
	concept_synonym_name varchar(1000) not null,
	language_concept_id  integer       not null
);
create index concept_synonym_concept_idx on concept_synonym (concept_id);

create table concept_ancestor (
	ancestor_concept_id      integer not null,
	descendant_concept_id    integer not null,
	min_levels_of_separation integer not null,
	max_levels_of_separation integer not null,
	primary key (ancestor_concept_id, descendant_concept_id)
);
create index concept_ancestor_descendant_idx on concept_ancestor (descendant_concept_id);
