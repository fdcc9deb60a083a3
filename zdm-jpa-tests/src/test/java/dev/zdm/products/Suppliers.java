package dev.zdm.products;

import org.springframework.data.jpa.repository.JpaRepository;

interface Suppliers extends JpaRepository<ProductSupplierEntity, Long> {

}
