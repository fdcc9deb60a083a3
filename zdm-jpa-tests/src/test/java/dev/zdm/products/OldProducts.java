package dev.zdm.products;

import org.springframework.data.jpa.repository.JpaRepository;

interface OldProducts extends JpaRepository<OldProductEntity, Long> {

}
